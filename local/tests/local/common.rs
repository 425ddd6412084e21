//! What the tests that run the `seatflow-local` binary share: a child
//! process stopped when dropped, a free port, waiting for a listener, and
//! `seatflow-local` itself started and signed into.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process (the server, ChromeDriver) killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on now.
#[allow(clippy::expect_used, reason = "a test cannot go on without a port")]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits until `what` listens on `addr` (at most 30 s).
pub fn wait_for(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_seatflow-local");

/// `seatflow-local` on a free loopback port with its state in `state`, on
/// its embedded defaults (no JWT secret, store or Stripe key taken from the
/// environment), listening; stopped when dropped.
#[allow(clippy::expect_used, reason = "a test cannot go on without its server")]
pub fn start_local(state: &Path) -> (Process, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    (start_local_at(state, addr, &[]), addr)
}

/// [`start_local`] at `addr`, with `settings` in its environment.
#[allow(clippy::expect_used, reason = "a test cannot go on without its server")]
pub fn start_local_at(state: &Path, addr: SocketAddr, settings: &[(&str, &str)]) -> Process {
    let server = Process(
        Command::new(BIN)
            .args(["--addr", &addr.to_string()])
            .env("SEATFLOW_STATE_DIR", state)
            .env_remove("SEATFLOW_JWT_SECRET")
            .env_remove("SEATFLOW_STORE")
            .env_remove("STRIPE_SECRET_KEY")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("seatflow-local starts"),
    );
    wait_for(addr, "seatflow-local");
    server
}

/// A token of the demo organisation's admin, from `seatflow-local token`
/// with the state in `state`.
#[allow(clippy::expect_used, reason = "a test cannot go on without a token")]
pub fn admin_token(state: &Path) -> String {
    let token = Command::new(BIN)
        .args(["token", "--role", "admin"])
        .env("SEATFLOW_STATE_DIR", state)
        .env_remove("SEATFLOW_JWT_SECRET")
        .output()
        .expect("seatflow-local token runs");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}
