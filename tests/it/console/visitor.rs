//! A browser-like HTTP client signed in to the console (its session cookie and CSRF token), for the
//! console's HTTP-level tests.

use reqwest::header::{HeaderMap, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use std::time::Duration;

pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).timeout(Duration::from_secs(20)).build().unwrap()
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        let (pair, _) = line.split_once(';').unwrap_or((line, ""));
        pair.strip_prefix(&format!("{name}=")).filter(|v| !v.is_empty()).map(str::to_owned)
    })
}

pub fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..at + 64].to_owned()
}

pub async fn sign_in_with(base: &str, token: &str, old_cookie: Option<&str>) -> Visitor {
    let http = client();
    let form = http.get(format!("{base}/console/login")).send().await.unwrap();
    let login = cookie_value(form.headers(), "atlas_login").expect("the sign-in page sets its form cookie");
    let mut cookies = format!("atlas_login={login}");
    if let Some(old) = old_cookie {
        cookies = format!("{cookies}; {old}");
    }
    let answer = http
        .post(format!("{base}/console/login"))
        .header(COOKIE, cookies)
        .header(ORIGIN, base)
        .form(&[("csrf", login.as_str()), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303, "signed in");
    let session = cookie_value(answer.headers(), "atlas_session").expect("a session cookie");
    let cookie = format!("atlas_session={session}");
    let page = http.get(format!("{base}/console/approvals")).header(COOKIE, &cookie).send().await.unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    Visitor { http, base: base.to_owned(), cookie, csrf }
}

pub async fn sign_in(base: &str, token: &str) -> Visitor {
    sign_in_with(base, token, None).await
}

pub struct Answer {
    pub status: u16,
    pub kind: String,
    pub csp: bool,
    pub location: String,
    pub body: String,
}

impl Visitor {
    /// A GET answered as the raw response (headers and body).
    pub async fn fetch(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let a = self.send("GET", path, None, None, &[]).await;
        (a.status, a.body)
    }

    /// A form post; answers everything about the response.
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.submit_with(path, form, &[]).await
    }

    /// A form post, and the page its redirect leads to (the SQL box answers at the query's own URL).
    pub async fn submit_and_follow(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let posted = self.submit(path, form).await;
        if posted.status != 303 {
            return posted;
        }
        self.send("GET", &posted.location, None, None, &[]).await
    }

    pub async fn submit_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send("POST", path, Some(body.into_bytes()), Some("application/x-www-form-urlencoded"), headers).await
    }

    /// A form post with chosen extra headers; answers the status, and where it redirects before the body.
    pub async fn post(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> (u16, String) {
        let answer = self.submit_with(path, form, headers).await;
        (answer.status, answer.location + &answer.body)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        kind: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header(COOKIE, &self.cookie);
        if let Some(kind) = kind {
            request = request.header("content-type", kind);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        match request.send().await {
            Ok(answer) => {
                let h = answer.headers().clone();
                let text = |n: &str| h.get(n).map(|v| v.to_str().unwrap_or("?").to_owned()).unwrap_or_default();
                let (status, kind, location) = (answer.status().as_u16(), text("content-type"), text("location"));
                let csp = h.contains_key("content-security-policy");
                let body = answer.text().await.unwrap_or_else(|e| format!("<<body error {e}>>"));
                Answer { status, kind, csp, location, body }
            }
            Err(err) => Answer {
                status: 0,
                kind: String::new(),
                csp: false,
                location: String::new(),
                body: format!("<<{err}>>"),
            },
        }
    }
}
