//! `GET` of one object, as JSON or as a Table.

use crate::meta::Query;
use crate::router::{json_response, Target};
use crate::ApiServer;
use axum::http::StatusCode;
use axum::response::Response;
use ordo_api::status::ApiError;

impl ApiServer {
    /// `GET` of one object (or its Table).
    pub(crate) async fn get(
        &self,
        t: &Target,
        q: &Query,
        table: bool,
    ) -> Result<Response, ApiError> {
        let name = t.name.as_deref().unwrap_or_default();
        let (obj, rev) = self.read(t.info, t.ns(), name).await?;
        if table {
            let v = crate::table::to_table(
                t.info,
                std::slice::from_ref(&obj),
                q,
                &rev.to_string(),
                true,
            );
            return Ok(json_response(StatusCode::OK, &v));
        }
        Ok(json_response(StatusCode::OK, &obj))
    }
}
