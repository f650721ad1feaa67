//! Bearer tokens and roles. A handler states what it needs in its signature (`Auth<Review>`); the
//! extractor answers 401 for a missing or unknown token and 403 (audited) for a role that may not.
//! A 403 and every admin request are written to the audit trail before the response goes out; one whose
//! event cannot be written is refused (503), unless the database takes no write at all (full or damaged),
//! where an admin must still read what it takes to recover (logged instead).

use super::error::ApiError;
use super::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use atlas_actors::domain::access::is_reserved_actor;
use atlas_actors::domain::Record;
use atlas_actors::domain::{token_hash, Actor, Command, CommandError, Permission, Role};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

/// Who is calling: the token's name (the audit actor) and its role.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::new(self.name.clone())
    }
}

/// A permission a route needs, as a type.
pub trait Need {
    const PERMISSION: Permission;
}

macro_rules! need {
    ($name:ident, $permission:ident) => {
        pub struct $name;
        impl Need for $name {
            const PERMISSION: Permission = Permission::$permission;
        }
    };
}
need!(Read, Read);
need!(Change, RequestChange);
need!(Review, Review);
need!(Resolve, ResolveErrors);
need!(Admin, Administer);

/// An authenticated caller whose role allows `N`.
pub struct Auth<N: Need> {
    pub caller: Caller,
    need: PhantomData<N>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

async fn authenticate(state: &AppState, header: Option<String>) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(|| unauthorized("missing Authorization: Bearer <token> header"))?;
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| unauthorized("the Authorization header must be \"Bearer <token>\""))?;
    caller_for_hash(state, &token_hash(token)).await
}

/// The caller a request's valid bearer token names, if it has one (for routes that show more to the team
/// than to anyone who can reach the port).
pub async fn caller(state: &AppState, req: &HttpRequest) -> Option<Caller> {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let caller = authenticate(state, header).await.ok()?;
    caller.role.allows(Permission::Read).then_some(caller)
}

/// The live token stored under this hash, as a caller: the one check the API's bearer tokens and the
/// console's sessions share, so a revoked token stops working on both from its next request.
pub async fn caller_for_hash(state: &AppState, hash: &str) -> Result<Caller, ApiError> {
    let found = state.tokens.find(&state.handles, hash).await.map_err(ApiError::from_read)?;
    let token = found.ok_or_else(|| unauthorized("the token is unknown or revoked"))?;
    if is_reserved_actor(&token.name) {
        // Made before names were reserved: its actions would read as Atlas's own in the audit trail.
        return Err(unauthorized(&format!(
            "token {} has a name reserved for Atlas's own actions; create a new token and revoke this one",
            token.name
        )));
    }
    Ok(Caller { name: token.name, role: token.role })
}

/// Whether the caller's role allows `permission`, as a 403 naming both. Refusals and every admin request
/// are audited here (`access.denied`, `access.admin`), before they are answered.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    permission: Permission,
    method: &str,
    path: &str,
) -> Result<(), ApiError> {
    let needed = permission.as_str();
    let allowed = caller.role.allows(permission);
    // Every admin action is recorded under the caller's name with its path (backup ids, job names): the
    // ones that are not writer commands (backups, restores, syncs, jobs run now) have no other event
    // naming who asked. A restore's record is taken before the swap, so its safety backup holds it.
    let audited = !allowed || permission == Permission::Administer;
    if audited {
        let access = Command::Record(Record::Access {
            method: method.to_owned(),
            path: path.to_owned(),
            role: caller.role,
            needed: needed.to_owned(),
            allowed,
        });
        // The audit fails closed: an access that cannot be recorded is not granted (nor refused unrecorded).
        // One exception: a database that takes no write at all (full, or damaged and served read-only)
        // must still let an admin read what it takes to recover it; those reads are logged instead.
        match state.handles.writer.submit(access, caller.actor()).await {
            Ok(_) => {}
            Err(err @ (CommandError::StorageFull(_) | CommandError::StorageFault(_))) => {
                tracing::warn!(error = %err, caller = %caller.name, method, path, "Access not audited: the database takes no write.");
            }
            Err(err) => {
                tracing::warn!(error = %err, "Could not audit an access; refusing it.");
                return Err(ApiError::unavailable(format!("the access could not be audited, so it is refused: {err}")));
            }
        }
    }
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("token {} has role {}, which may not {needed} ({path})", caller.name, caller.role),
    ))
}

impl<N: Need + 'static> FromRequest for Auth<N> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req.headers().get("authorization").map(|v| v.to_str().unwrap_or_default().to_owned());
        let (method, path) = (req.method().to_string(), req.path().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::unavailable("the application state is missing"))?;
            let caller = authenticate(&state, header).await?;
            authorize(&state, &caller, N::PERMISSION, &method, &path).await?;
            Ok(Self { caller, need: PhantomData })
        })
    }
}
