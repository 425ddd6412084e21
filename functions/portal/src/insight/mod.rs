//! Teams (allocations per product with their use), Usage (in use against
//! available, as server-rendered SVG bars) and the Audit log (paged,
//! filtered, each entry opening to its before and after); the usage and
//! seat exports as files.
//! One module per page.

mod audit;
mod teams;
mod usage;

pub use audit::audit;
pub use teams::{create_team, move_allocation, remove_team, rename_team, set_allocation, teams};
pub use usage::{assignments_csv, usage, usage_csv};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{AuditAction, AuditId, Mode, ProductId, Role, SeatError, TeamId, UserId};
use seatflow_http::export;
use serde::Deserialize;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};
