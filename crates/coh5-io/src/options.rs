//! `SourceOptions`: how to reach and authenticate against object stores. Options are plain
//! `object_store` configuration keys, so anything `object_store` supports can be set; the typed
//! setters cover what the coh5 CLI exposes and translate to the right key per backend.

use std::fmt;

use object_store::ObjectStoreScheme;

use crate::RetryPolicy;

/// Region used for `s3://` URLs when neither the environment nor the options name one. Many
/// public scientific datasets (NASA, NOAA open data) live in us-west-2; object_store's own
/// fallback, us-east-1, would make every request to them go through a redirect-less failure.
pub const DEFAULT_S3_REGION: &str = "us-west-2";

/// Environment variable prefixes forwarded to object_store, per backend.
const ENV_PREFIXES: [&str; 3] = ["AWS_", "GOOGLE_", "AZURE_"];

/// Connection options for remote sources, builder style.
///
/// Precedence, lowest first: the environment (captured by [`SourceOptions::new`]), then
/// [`option`](SourceOptions::option) keys, then the typed setters.
#[derive(Clone, Default)]
pub struct SourceOptions {
    env: Vec<(String, String)>,
    options: Vec<(String, String)>,
    anonymous: Option<bool>,
    region: Option<String>,
    endpoint: Option<String>,
    allow_http: Option<bool>,
    retry: RetryPolicy,
    first_read: Option<u64>,
}

impl SourceOptions {
    /// Defaults plus the environment: every `AWS_*`, `GOOGLE_*` and `AZURE_*` variable (for example
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `GOOGLE_SERVICE_ACCOUNT`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`), lower-cased into object_store keys. Variables object_store
    /// does not know are ignored. Use [`SourceOptions::default`] to ignore the environment.
    pub fn new() -> Self {
        let env = std::env::vars()
            .filter(|(k, _)| ENV_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Self {
            env,
            ..Self::default()
        }
    }

    /// Skip request signing, for public buckets and containers (object_store `skip_signature`).
    pub fn anonymous(mut self, yes: bool) -> Self {
        self.anonymous = Some(yes);
        self
    }

    /// The S3 region (default [`DEFAULT_S3_REGION`] when nothing else names one).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A custom endpoint: S3-compatible servers (MinIO, moto, Ceph), an Azure emulator, or a GCS
    /// base URL. For S3 this also selects path-style requests (`endpoint/bucket/key`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Permit plain-HTTP connections. Implied for `http://` URLs and `http://` endpoints unless
    /// set to `false` explicitly.
    pub fn allow_http(mut self, yes: bool) -> Self {
        self.allow_http = Some(yes);
        self
    }

    /// Retry and stall limits of remote reads (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry policy remote sources get.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Bytes a remote source fetches from the object's start with its size, in the first round
    /// trip (default [`crate::DEFAULT_FIRST_READ`]): what the reader will read first. Past the
    /// first MiB they go out as parallel GETs before the size is known.
    pub fn first_read(mut self, bytes: u64) -> Self {
        self.first_read = Some(bytes);
        self
    }

    /// The first-read size remote sources get.
    pub fn first_read_bytes(&self) -> u64 {
        self.first_read.unwrap_or(crate::DEFAULT_FIRST_READ)
    }

    /// Any object_store configuration key (`aws_access_key_id`, `google_service_account`,
    /// `azure_storage_account_key`, `timeout`, `connect_timeout`, ...). Keys are case-insensitive;
    /// keys the chosen backend does not know are ignored.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options
            .push((key.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// The key/value pairs to hand to the object_store builder of `scheme`, in precedence order
    /// (later pairs override earlier ones). `url_is_http` says the object URL itself is `http://`.
    pub(crate) fn store_config(
        &self,
        scheme: &ObjectStoreScheme,
        url_is_http: bool,
    ) -> Vec<(String, String)> {
        let env_prefix = match scheme {
            ObjectStoreScheme::AmazonS3 => Some("aws_"),
            ObjectStoreScheme::GoogleCloudStorage => Some("google_"),
            ObjectStoreScheme::MicrosoftAzure => Some("azure_"),
            _ => None,
        };
        let mut out: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| env_prefix.is_some_and(|p| k.starts_with(p)))
            .cloned()
            .collect();
        out.extend(self.options.iter().cloned());

        let (skip_key, endpoint_key) = match scheme {
            ObjectStoreScheme::AmazonS3 => ("aws_skip_signature", "aws_endpoint"),
            ObjectStoreScheme::GoogleCloudStorage => ("google_skip_signature", "google_base_url"),
            ObjectStoreScheme::MicrosoftAzure => ("azure_skip_signature", "azure_storage_endpoint"),
            _ => ("", ""),
        };
        let keyed = !skip_key.is_empty();
        if let (Some(yes), true) = (self.anonymous, keyed) {
            out.push((skip_key.into(), yes.to_string()));
        }
        if let (Some(endpoint), true) = (&self.endpoint, keyed) {
            out.push((endpoint_key.into(), endpoint.clone()));
        }
        if *scheme == ObjectStoreScheme::AmazonS3 {
            if let Some(region) = &self.region {
                out.push(("aws_region".into(), region.clone()));
            }
            let has = |out: &[(String, String)], names: &[&str]| {
                out.iter().any(|(k, _)| names.contains(&k.as_str()))
            };
            if !has(
                &out,
                &[
                    "aws_region",
                    "region",
                    "aws_default_region",
                    "default_region",
                ],
            ) {
                out.push(("aws_region".into(), DEFAULT_S3_REGION.into()));
            }
            let has_endpoint = has(
                &out,
                &[
                    "aws_endpoint_url",
                    "aws_endpoint",
                    "endpoint_url",
                    "endpoint",
                ],
            );
            let has_style = has(
                &out,
                &[
                    "aws_virtual_hosted_style_request",
                    "virtual_hosted_style_request",
                ],
            );
            if has_endpoint && !has_style {
                out.push(("aws_virtual_hosted_style_request".into(), "false".into()));
            }
        }

        // object_store's default of 30 s for a whole request (body included) would cut off a
        // large range on a slow link; coh5's stall detection (RetryPolicy::stall_timeout)
        // catches dead connections instead, so only a generous overall cap remains.
        if !out.iter().any(|(k, _)| k == "timeout") {
            out.push(("timeout".into(), "600s".into()));
        }
        // An explicit http:// URL or endpoint is consent to plain HTTP.
        let endpoint_is_http = self
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        match self.allow_http {
            Some(yes) => out.push(("allow_http".into(), yes.to_string())),
            None if url_is_http || (keyed && endpoint_is_http) => {
                out.push(("allow_http".into(), "true".into()))
            }
            None => {}
        }
        out
    }
}

/// Prints keys but never values: options routinely carry secrets.
impl fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        f.debug_struct("SourceOptions")
            .field("env_keys", &keys(&self.env))
            .field("option_keys", &keys(&self.options))
            .field("anonymous", &self.anonymous)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("allow_http", &self.allow_http)
            .field("retry", &self.retry)
            .field("first_read", &self.first_read)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(cfg: &'a [(String, String)], key: &str) -> Option<&'a str> {
        // The last occurrence wins, as in the object_store builders.
        cfg.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn s3_defaults_region_and_path_style_with_endpoint() {
        let o = SourceOptions::default();
        let cfg = o.store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "aws_region"), Some(DEFAULT_S3_REGION));
        assert_eq!(get(&cfg, "aws_virtual_hosted_style_request"), None);
        assert_eq!(get(&cfg, "allow_http"), None);

        let o = SourceOptions::default()
            .endpoint("http://127.0.0.1:9000")
            .anonymous(true)
            .region("eu-north-1");
        let cfg = o.store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "aws_endpoint"), Some("http://127.0.0.1:9000"));
        assert_eq!(get(&cfg, "aws_virtual_hosted_style_request"), Some("false"));
        assert_eq!(get(&cfg, "aws_skip_signature"), Some("true"));
        assert_eq!(get(&cfg, "aws_region"), Some("eu-north-1"));
        assert_eq!(get(&cfg, "allow_http"), Some("true"));

        let o = o.allow_http(false);
        let cfg = o.store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "allow_http"), Some("false"));
    }

    #[test]
    fn precedence_env_then_options_then_typed() {
        let mut o = SourceOptions::default()
            .option("AWS_REGION", "from-option")
            .option("timeout", "5s");
        o.env = vec![
            ("aws_region".into(), "from-env".into()),
            ("azure_storage_account_name".into(), "acct".into()),
        ];
        let cfg = o.store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "aws_region"), Some("from-option"));
        assert_eq!(get(&cfg, "timeout"), Some("5s"));
        assert_eq!(get(&cfg, "azure_storage_account_name"), None);
        let cfg = o
            .clone()
            .region("typed")
            .store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "aws_region"), Some("typed"));
        let cfg = o.store_config(&ObjectStoreScheme::MicrosoftAzure, false);
        assert_eq!(get(&cfg, "azure_storage_account_name"), Some("acct"));
        assert_eq!(
            get(&cfg, "aws_region"),
            Some("from-option"),
            "generic keys pass"
        );
    }

    #[test]
    fn env_region_counts_as_configured() {
        let o = SourceOptions {
            env: vec![("aws_default_region".into(), "ap-south-1".into())],
            ..SourceOptions::default()
        };
        let cfg = o.store_config(&ObjectStoreScheme::AmazonS3, false);
        assert_eq!(get(&cfg, "aws_region"), None);
    }

    #[test]
    fn other_backends_get_their_own_keys() {
        let o = SourceOptions::default()
            .anonymous(true)
            .endpoint("http://localhost:4443");
        let cfg = o.store_config(&ObjectStoreScheme::GoogleCloudStorage, false);
        assert_eq!(get(&cfg, "google_skip_signature"), Some("true"));
        assert_eq!(get(&cfg, "google_base_url"), Some("http://localhost:4443"));
        assert_eq!(get(&cfg, "aws_region"), None);
        let cfg = o.store_config(&ObjectStoreScheme::MicrosoftAzure, false);
        assert_eq!(get(&cfg, "azure_skip_signature"), Some("true"));
        assert_eq!(
            get(&cfg, "azure_storage_endpoint"),
            Some("http://localhost:4443")
        );
        let cfg = o.store_config(&ObjectStoreScheme::Http, true);
        assert_eq!(
            cfg,
            vec![
                ("timeout".to_string(), "600s".to_string()),
                ("allow_http".to_string(), "true".to_string())
            ]
        );
    }

    #[test]
    fn debug_hides_values() {
        let o = SourceOptions::default().option("aws_secret_access_key", "hunter2");
        let s = format!("{o:?}");
        assert!(
            s.contains("aws_secret_access_key") && !s.contains("hunter2"),
            "{s}"
        );
    }
}
