//! One delivery: the event as JSON, POSTed with `X-Atlas-Timestamp`, `X-Atlas-Signature` (HMAC-SHA256 of
//! `"<timestamp>.<body>"` with the sink's secret, so a receiver can check it came from Atlas and refuse a
//! replayed timestamp) and `X-Atlas-Delivery` (the idempotency key, the same on every redelivery).

use super::queue::Due;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// `sha256=<hex>` of `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body a receiver gets.
pub fn body(due: &Due) -> Vec<u8> {
    let payload: serde_json::Value = serde_json::from_str(&due.payload).unwrap_or(serde_json::Value::Null);
    let json = serde_json::json!({
        "delivery": due.delivery_id,
        "sink": due.sink,
        "event": {
            "id": due.event_id,
            "type": due.event_type,
            "aggregate_type": due.aggregate_type,
            "aggregate_id": due.aggregate_id,
            "actor": due.actor,
            "created_at": due.created_at,
            "payload": payload,
        }
    });
    serde_json::to_vec(&json).unwrap_or_default()
}

/// POSTs it; `Ok` only on a 2xx. The error never carries the URL (it may hold a token) or the secret.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    due: &Due,
    timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let body = body(due);
    let timestamp = now.timestamp();
    let sent = http
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("X-Atlas-Timestamp", timestamp.to_string())
        .header("X-Atlas-Signature", signature(secret, timestamp, &body))
        .header("X-Atlas-Delivery", &due.delivery_id)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("not delivered: {}", e.without_url()))?;
    let status = sent.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe"; here over "1700000000.{}".
        let made = super::signature("Jefe", 1_700_000_000, b"{}");
        assert!(made.starts_with("sha256=") && made.len() == 7 + 64, "{made}");
        assert_ne!(made, super::signature("Jefe", 1_700_000_001, b"{}"), "the timestamp is signed");
        assert_ne!(made, super::signature("jefe", 1_700_000_000, b"{}"), "the secret matters");
    }
}
