//! Building object stores the way coh5 reads them: object_store's builders fed the same
//! configuration keys as `object_store::parse_url_opts`, but with object_store's retries off
//! (coh5 retries itself, see [`crate::retry`]) and an HTTP client that marks retryable statuses
//! so they can be told apart from final ones through object_store's error wrapping.

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::{ClientOptions, ObjectStore, ObjectStoreScheme, RetryConfig};
use url::Url;

use crate::retry::RetryableStatus;

/// The store serving `url` (whose scheme is `scheme`), configured by `options` (object_store
/// keys; unknown keys are ignored, as `parse_url_opts` does).
pub(crate) fn build_store(
    url: &Url,
    scheme: &ObjectStoreScheme,
    options: &[(String, String)],
) -> object_store::Result<Box<dyn ObjectStore>> {
    let no_retries = RetryConfig {
        max_retries: 0,
        ..RetryConfig::default()
    };
    macro_rules! build {
        ($builder:expr, $url:expr) => {{
            let builder = options.iter().fold(
                $builder.with_url($url.to_string()),
                |b, (key, value)| match key.to_ascii_lowercase().parse() {
                    Ok(k) => b.with_config(k, value.clone()),
                    Err(_) => b,
                },
            );
            Box::new(
                builder
                    .with_retry(no_retries)
                    .with_http_connector(MarkingConnector)
                    .build()?,
            ) as Box<dyn ObjectStore>
        }};
    }
    Ok(match scheme {
        ObjectStoreScheme::AmazonS3 => build!(AmazonS3Builder::new(), url),
        ObjectStoreScheme::GoogleCloudStorage => build!(GoogleCloudStorageBuilder::new(), url),
        ObjectStoreScheme::MicrosoftAzure => build!(MicrosoftAzureBuilder::new(), url),
        ObjectStoreScheme::Http => build!(HttpBuilder::new(), &url[..url::Position::BeforePath]),
        other => {
            return Err(object_store::Error::NotSupported {
                source: format!("{other:?} is not a remote store").into(),
            })
        }
    })
}

/// object_store's reqwest client, wrapped in [`MarkingService`].
#[derive(Debug)]
struct MarkingConnector;

impl HttpConnector for MarkingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(MarkingService(inner)))
    }
}

/// Turns 5xx, 429 and 408 responses into transport errors carrying [`RetryableStatus`]. With
/// retries off, object_store would otherwise report them as a generic error whose status is not
/// reachable from outside the crate.
#[derive(Debug)]
struct MarkingService(HttpClient);

#[async_trait::async_trait]
impl HttpService for MarkingService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.0.execute(req).await?;
        let status = response.status().as_u16();
        if RetryableStatus::applies(status) {
            return Err(HttpError::new(
                HttpErrorKind::Unknown,
                RetryableStatus { status },
            ));
        }
        Ok(response)
    }
}
