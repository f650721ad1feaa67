//! moto's S3 server (`python3 -m moto.server`) on 127.0.0.1, one per test, killed when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Moto {
    /// Starts the server and creates `bucket`. Fails loudly when moto is missing: `.ci/run` installs it.
    pub async fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (moto's S3 server; `pip install 'moto[server]'`)");
        let mut moto = Self { endpoint: format!("http://127.0.0.1:{port}"), child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto's server exited ({status}); install it with: python3 -m pip install 'moto[server]'");
            }
            assert!(Instant::now() < deadline, "moto's server did not listen on {port} within 30 s");
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        let status = moto.put(&format!("/{bucket}"), Vec::new()).await;
        assert_eq!(status, 200, "bucket {bucket} created");
        moto
    }

    /// A plain PUT: moto accepts it unsigned for creating a bucket.
    async fn put(&self, path: &str, body: Vec<u8>) -> u16 {
        let client = awc::Client::new();
        let response = client.put(format!("{}{path}", self.endpoint)).send_body(body).await.expect("moto answers");
        response.status().as_u16()
    }

    /// A signed client for `bucket`, to look at or tamper with objects behind Atlas's back.
    pub fn store(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
