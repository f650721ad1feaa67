//! The web console: its doors over plain HTTP (`doors`) and its pages in a real Chromium (`pages`,
//! `browsing`), driven by `browser`.

mod accessibility;
mod approval_page;
mod attacks;
pub mod browser;
mod browsing;
mod charts;
mod confirmations;
mod create;
mod doors;
mod drafts;
mod journey;
mod names;
mod pages;
mod search;
pub mod visitor;
