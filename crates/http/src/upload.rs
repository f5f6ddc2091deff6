//! File uploads of a city's size (a unit's application file of a million rows is about
//! 40 MB): the body, or the `file` field of a multipart form, is streamed to a temporary
//! file a chunk at a time, so memory stays bounded whatever the size, and the import
//! then reads it line by line as the command line does. A body over [`UPLOAD_LIMIT`] is
//! refused with `413 body_too_large` naming the limit, before or while it streams.

use std::path::PathBuf;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::ApiError;

/// The largest file an upload endpoint takes: 64 MiB (a million application rows with
/// room to spare). JSON calls keep the smaller `BODY_LIMIT`.
pub const UPLOAD_LIMIT: u64 = 64 * 1024 * 1024;

/// A received file, removed when dropped.
pub struct Upload {
    path: PathBuf,
}

impl Upload {
    /// The file, to be read line by line.
    pub fn reader(&self) -> Result<std::io::BufReader<std::fs::File>, ApiError> {
        std::fs::File::open(&self.path).map(std::io::BufReader::new).map_err(|e| ApiError::new(500, "internal_error", format!("the upload could not be read back: {e}")))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn too_large() -> ApiError {
    ApiError::new(413, "body_too_large", format!("an uploaded file may be at most {} MiB ({UPLOAD_LIMIT} bytes); split larger files", UPLOAD_LIMIT / (1024 * 1024)))
}

/// Adds a chunk to the bytes received; refuses past the limit.
fn count(chunk: usize, written: &mut u64) -> Result<(), ApiError> {
    *written += chunk as u64;
    if *written > UPLOAD_LIMIT { Err(too_large()) } else { Ok(()) }
}

fn bad_body(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(400, "invalid_body", format!("the upload could not be read: {e}"))
}

/// Whether `path` is one of the upload endpoints (which stream their bodies).
pub fn is_upload_path(path: &str) -> bool {
    path == "/unit/applications"
        || path == "/operator/persons/import"
        || path == "/v1/persons/import"
        || path.strip_prefix("/v1/units/").and_then(|rest| rest.strip_suffix("/applications")).is_some_and(|code| !code.is_empty() && !code.contains('/'))
}

/// A keyed upload's body spooled to a temporary file while `hash` takes every chunk (the
/// `Idempotency-Key` fingerprint), in bounded memory, up to [`UPLOAD_LIMIT`].
pub async fn spool(body: axum::body::Body, hash: &mut impl sm3::Digest) -> Result<Upload, ApiError> {
    spool_with(body, |chunk| hash.update(chunk)).await
}

/// A body streamed to a temporary file a chunk at a time, each chunk also handed to
/// `each`; refused past [`UPLOAD_LIMIT`].
async fn spool_with(body: axum::body::Body, mut each: impl FnMut(&[u8])) -> Result<Upload, ApiError> {
    let upload = new_upload();
    let mut file = create(&upload).await?;
    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(bad_body)?;
        count(chunk.len(), &mut written)?;
        each(&chunk);
        file.write_all(&chunk).await.map_err(bad_body)?;
    }
    file.flush().await.map_err(bad_body)?;
    Ok(upload)
}

async fn create(upload: &Upload) -> Result<tokio::io::BufWriter<tokio::fs::File>, ApiError> {
    Ok(tokio::io::BufWriter::new(tokio::fs::File::create(&upload.path).await.map_err(|e| ApiError::new(500, "internal_error", format!("no room for the upload: {e}")))?))
}

/// A spooled upload as a request body again, read a chunk at a time; the file is removed
/// when the body has been read or dropped.
pub async fn body_of(upload: Upload) -> Result<axum::body::Body, ApiError> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(&upload.path).await.map_err(|e| ApiError::new(500, "internal_error", format!("the upload could not be read back: {e}")))?;
    let chunks = futures_util::stream::unfold((file, upload), |(mut file, upload)| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), (file, upload)))
            }
            Err(e) => Some((Err(e), (file, upload))),
        }
    });
    Ok(axum::body::Body::from_stream(chunks))
}

fn new_upload() -> Upload {
    let r: [u8; 8] = yikatong_service::secrets::random_bytes();
    Upload { path: std::env::temp_dir().join(format!("ykt-upload-{}-{}", std::process::id(), hex::encode(r))) }
}

/// Streams the request's file (a multipart form's `file` field, or the body itself) to
/// a temporary file.
pub async fn receive(req: Request) -> Result<Upload, ApiError> {
    receive_with_fields(req).await.map(|(upload, _)| upload)
}

/// The longest text field taken beside a form's file.
const FIELD_LIMIT: usize = 1024;

/// As [`receive`], with the form's short text fields that come before the file (a
/// portal form's region, say), each at most [`FIELD_LIMIT`] bytes.
pub async fn receive_with_fields(req: Request) -> Result<(Upload, std::collections::HashMap<String, String>), ApiError> {
    let mut fields = std::collections::HashMap::new();
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > UPLOAD_LIMIT + 64 * 1024) {
        return Err(too_large());
    }
    let is_multipart = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Ok((spool_with(req.into_body(), |_| {}).await?, fields));
    }
    let upload = new_upload();
    let mut file = create(&upload).await?;
    let mut written: u64 = 0;
    let mut form = Multipart::from_request(req, &()).await.map_err(|e| ApiError::new(400, "invalid_body", e.body_text()))?;
    let mut found = false;
    while let Some(mut field) = form.next_field().await.map_err(|e| ApiError::new(400, "invalid_body", e.body_text()))? {
        if field.name() == Some("file") || field.file_name().is_some() {
            while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::new(400, "invalid_body", e.body_text()))? {
                count(chunk.len(), &mut written)?;
                file.write_all(&chunk).await.map_err(bad_body)?;
            }
            found = true;
            break;
        }
        let name = field.name().unwrap_or_default().to_string();
        let value = field.text().await.map_err(|e| ApiError::new(400, "invalid_body", e.body_text()))?;
        if value.len() > FIELD_LIMIT {
            return Err(ApiError::new(400, "invalid_body", format!("the form field {name} is longer than {FIELD_LIMIT} bytes")));
        }
        fields.insert(name, value);
    }
    if !found {
        return Err(ApiError::new(400, "invalid_body", "the upload has no file field"));
    }
    file.flush().await.map_err(bad_body)?;
    Ok((upload, fields))
}
