pub mod baseline;
pub mod client;
pub mod contract;
pub mod cycle;
pub mod export;
pub mod import;
pub mod plan;
pub mod sanitize;
