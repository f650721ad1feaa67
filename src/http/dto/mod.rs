//! Wire types: what the API accepts and returns. Kept apart from the domain types (which stay free of
//! HTTP and OpenAPI) and converted with `From`.

mod admin;
mod records;
mod requests;
mod shown;

pub use admin::*;
pub use records::*;
pub use requests::*;
pub use shown::{LiveRedactor, Payload};

use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list, newest first; pass `next_cursor` as `cursor` to get the next one.
macro_rules! page_of {
    ($page:ident, $item:ty) => {
        #[derive(Serialize, ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            /// Absent on the last page.
            pub next_cursor: Option<String>,
        }

        impl<T: Into<$item>> From<atlas_actors::store::queries::Listed<T>> for $page {
            fn from(listed: atlas_actors::store::queries::Listed<T>) -> Self {
                Self { items: listed.items.into_iter().map(Into::into).collect(), next_cursor: listed.next_cursor }
            }
        }
    };
}

page_of!(ProjectPage, ProjectDto);
page_of!(TaskPage, TaskDto);
page_of!(ApprovalPage, ApprovalDto);
page_of!(RunPage, RunDto);
page_of!(ErrorPage, ErrorDto);
page_of!(EventPage, EventDto);

/// The error body every failure returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `invalid`, `unavailable`, …
    pub code: String,
    /// A sentence naming the field, id or state involved.
    pub message: String,
}
