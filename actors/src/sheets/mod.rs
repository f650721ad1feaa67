pub mod contract;
pub mod plan;
pub mod sanitize;
