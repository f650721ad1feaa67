//! One delivery: the event as JSON, POSTed with the Standard Webhooks headers (`webhook-id`: the delivery
//! id, the same on every redelivery; `webhook-timestamp`; `webhook-signature`: `v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">` for each of the sink's keys, two while one is rotated out), so off-the-shelf
//! verifiers check it; and, unless turned off, Atlas's own `X-Atlas-Timestamp`, `X-Atlas-Signature`
//! (`sha256=<hex>` of `"<timestamp>.<body>"` with the first key) and `X-Atlas-Delivery`, which receivers
//! written before keep checking.

use super::queue::Due;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The prefix of a secret given in the Standard Webhooks form: base64 of the key's bytes follows.
pub const WHSEC: &str = "whsec_";

/// A sink's signing key: a `whsec_` secret's decoded bytes, or a plain secret's own bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl SigningKey {
    /// Reads a configured secret; the error never quotes it.
    pub fn parse(secret: &str) -> Result<Self, String> {
        match secret.strip_prefix(WHSEC) {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim_end_matches('='))
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded.trim_end_matches('=')))
                    .map_err(|_| format!("after {WHSEC:?} comes the key in base64, and this is not base64"))?;
                if bytes.len() < 16 {
                    return Err(format!("a {WHSEC} key must hold at least 16 bytes, this holds {}", bytes.len()));
                }
                Ok(Self(bytes))
            }
            None if secret.trim().chars().count() < 16 => Err("a secret of at least 16 characters is needed".into()),
            None => Ok(Self(secret.as_bytes().to_vec())),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` (`X-Atlas-Signature`).
pub fn signature(key: &SigningKey, timestamp: i64, body: &[u8]) -> String {
    let mut mac = key.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `webhook-signature`: `v1,<base64>` of `"<id>.<timestamp>.<body>"` for each key, space-separated.
pub fn standard_signature(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    let signed = |key: &SigningKey| {
        let mut mac = key.mac();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    };
    keys.iter().map(signed).collect::<Vec<_>>().join(" ")
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

/// How a POST went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// Try again later; `retry_after` when the receiver said when (`Retry-After`).
    Failed { error: String, retry_after: Option<Duration> },
    /// 410 Gone: the receiver wants no more deliveries.
    Gone(String),
}

/// How one sink signs.
pub struct Signing<'a> {
    pub keys: &'a [SigningKey],
    /// Also Atlas's own `X-Atlas-*` headers.
    pub atlas_headers: bool,
}

/// POSTs it; `Ok` only on a 2xx. The error never carries the URL (it may hold a token) or a key.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    signing: &Signing<'_>,
    due: &Due,
    timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Undelivered> {
    let body = body(due);
    let timestamp = now.timestamp();
    let mut request = http
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("webhook-id", &due.delivery_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", standard_signature(signing.keys, &due.delivery_id, timestamp, &body));
    if let (true, Some(first)) = (signing.atlas_headers, signing.keys.first()) {
        request = request
            .header("X-Atlas-Timestamp", timestamp.to_string())
            .header("X-Atlas-Signature", signature(first, timestamp, &body))
            .header("X-Atlas-Delivery", &due.delivery_id);
    }
    let sent = request
        .body(body)
        .send()
        .await
        .map_err(|e| Undelivered::Failed { error: format!("not delivered: {}", e.without_url()), retry_after: None })?;
    let status = sent.status();
    if status.is_success() {
        return Ok(());
    }
    if status == reqwest::StatusCode::GONE {
        return Err(Undelivered::Gone(format!("the receiver answered {status}: the sink is disabled")));
    }
    let retry_after = sent
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now));
    Err(Undelivered::Failed { error: format!("the receiver answered {status}"), retry_after })
}

/// `Retry-After` as seconds or an HTTP date, at most a day (a receiver cannot park a sink for ever).
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(DAY));
    }
    let at: chrono::DateTime<chrono::Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO).min(DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let key = SigningKey::parse("Jefe-0123456789abcdef").unwrap();
        let made = signature(&key, 1_700_000_000, b"{}");
        assert!(made.starts_with("sha256=") && made.len() == 7 + 64, "{made}");
        assert_ne!(made, signature(&key, 1_700_000_001, b"{}"), "the timestamp is signed");
        let other = SigningKey::parse("jefe-0123456789abcdef").unwrap();
        assert_ne!(made, signature(&other, 1_700_000_000, b"{}"), "the secret matters");
    }

    /// The example of the Standard Webhooks specification's reference tests: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp 1614265330,
    /// body `{"test": 2432232314}`.
    #[test]
    fn the_standard_signature_matches_the_specifications_example() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let made =
            standard_signature(&[key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(made, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_read_or_refused_without_being_quoted() {
        assert!(SigningKey::parse("whsec_not base64!!").unwrap_err().contains("base64"));
        assert!(SigningKey::parse("whsec_c2hvcnQ=").unwrap_err().contains("16 bytes"));
        assert!(SigningKey::parse("short").unwrap_err().contains("16 characters"));
        assert_eq!(format!("{:?}", SigningKey::parse("a-long-enough-secret").unwrap()), "<redacted>");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_stops_at_a_day() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Mon, 07 Dec 2026 10:05:00 GMT", now), Some(Duration::from_secs(300)));
        // The obsolete forms RFC 9110 still asks a recipient to read: RFC 850 and asctime.
        assert_eq!(retry_after("Monday, 07-Dec-26 10:05:00 GMT", now), Some(Duration::from_secs(300)));
        assert_eq!(retry_after("Mon Dec  7 10:05:00 2026", now), Some(Duration::from_secs(300)));
        assert_eq!(retry_after("999999", now), Some(Duration::from_secs(86_400)));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("Mon, 07 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO));
    }
}
