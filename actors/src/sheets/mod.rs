pub mod contract;
pub mod sanitize;
