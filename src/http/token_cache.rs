//! Live tokens in memory, so a request authenticates without a read-pool round trip (a pool saturated by
//! slow reads must not queue every request's token check behind them). The table is reloaded only when
//! the writer's `tokens_generation` moved: it is bumped after a commit that created or revoked a token
//! (and after a restore) and before that caller is answered, so a revocation holds from the next request.

use atlas_actors::domain::ApiToken;
use atlas_actors::store::queries::tokens;
use atlas_actors::store::ReadError;
use atlas_actors::Handles;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

type Table = Arc<HashMap<String, ApiToken>>;

#[derive(Default)]
pub struct TokenCache {
    /// The generation the table was read at, and the table (token hash → token).
    loaded: RwLock<Option<(u64, Table)>>,
}

impl TokenCache {
    /// The live token with this hash.
    pub async fn find(&self, handles: &Handles, hash: &str) -> Result<Option<ApiToken>, ReadError> {
        // Read before the table: a change committed meanwhile leaves this load marked stale.
        let generation = handles.writer.stats().tokens_generation.load(Ordering::Acquire);
        if let Some((at, table)) = self.loaded.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if *at == generation {
                return Ok(table.get(hash).cloned());
            }
        }
        let table: Table = Arc::new(handles.readers.read(tokens::live_by_hash).await?.into_iter().collect());
        let found = table.get(hash).cloned();
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        if loaded.as_ref().is_none_or(|(at, _)| *at <= generation) {
            *loaded = Some((generation, table));
        }
        Ok(found)
    }
}
