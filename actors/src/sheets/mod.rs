pub mod client;
pub mod contract;
pub mod export;
pub mod plan;
pub mod sanitize;
