//! Usage as SVG bars, and the usage and seat exports as files.

use super::*;

/// One bar of a chart.
pub struct Bar {
    label: String,
    used: u32,
    of: u32,
    percent: u32,
    over: bool,
}

impl Bar {
    fn new(label: String, used: u32, of: u32) -> Self {
        let percent = if of == 0 {
            u32::from(used > 0) * 100
        } else {
            u32::try_from((u64::from(used) * 100 / u64::from(of)).min(100)).unwrap_or(100)
        };
        Self {
            label,
            used,
            of,
            percent,
            over: used > of && of > 0,
        }
    }
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    layout: Layout,
    is_admin: bool,
    products: Vec<Bar>,
    teams: Vec<Bar>,
}

/// `GET /usage`: in use against available, per product and per team.
pub async fn usage(session: Session, State(state): State<PortalState>) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let usage = seats.views().usage(&session.actor).await?;
    let catalog = seats.catalog();
    let products = usage
        .products
        .iter()
        .map(|p| Bar::new(p.name.clone(), p.assigned, p.purchased))
        .collect();
    let teams = usage
        .teams
        .iter()
        .map(|t| {
            let product = catalog
                .product(&t.product)
                .map_or_else(|| t.product.to_string(), |p| p.name.clone());
            Bar::new(
                format!("{}, {product}", t.team_name),
                t.assigned,
                t.allocated.unwrap_or(0),
            )
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &UsagePage {
            is_admin: session.actor.role == Role::Admin,
            layout: Layout::signed_in(&session, "/usage"),
            products,
            teams,
        },
    ))
}

/// `GET /usage.csv`: the same figures as a file (team managers: their teams).
pub async fn usage_csv(session: Session, State(state): State<PortalState>) -> Result<Response, PageError> {
    let usage = state.app.seats.views().usage(&session.actor).await?;
    Ok(export::csv_response("usage.csv", export::usage_csv(usage)))
}

/// The seat export's query: where a page starts.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    after: Option<String>,
}

/// `GET /assignments.csv`: every seat with its holder (admins), 10,000
/// holders a file; a `Link` header names the next file.
pub async fn assignments_csv(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let after = query
        .after
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|_| PageError::NotFound)?;
    Ok(export::assignment_export(
        &state.app.seats,
        &session.actor,
        export::Format::Csv,
        after,
        export::EXPORT_PAGE,
        "/assignments.csv",
    )
    .await?)
}
