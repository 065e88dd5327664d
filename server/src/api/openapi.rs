//! `GET /api/openapi.json`: an OpenAPI 3.1 document of every route
//! (docs/api.md, "OpenAPI"): the API's, read off the route table the
//! router is built from (so none is left out), and the pages'.

use super::access::Access;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The pages (Leptos's routes), in OpenAPI's path form.
const PAGES: &[(&str, &str)] = &[
    ("/", "The default status page"),
    ("/status/{slug}", "A public status page"),
    ("/services/{service}", "A service's page"),
    (
        "/status/{slug}/{service}",
        "A service's page on a status page",
    ),
    ("/login", "The sign-in form"),
    (
        "/account",
        "The signed-in account (others are sent to /login)",
    ),
];

/// `{name}` segments of `path`, as path parameters.
fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

/// An `operationId` from the method and path: `get_api_metrics_service`.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        format!("{method}_root")
    } else {
        format!("{method}_{}", words.join("_"))
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in super::routes() {
        let method = route.method.as_str().to_ascii_lowercase();
        let access = route.access.describe();
        let mut responses = Map::new();
        responses.insert("200".into(), json!({"description": "OK"}));
        responses.insert(
            "4XX".into(),
            error_response("A bad request or parameter, named in `error` (and `parameter`)"),
        );
        let mut operation = json!({
            "operationId": operation_id(&method, route.path),
            "summary": format!("{} {}", route.method, route.path),
            "parameters": parameters(route.path),
            "x-hale-access": access,
        });
        if route.access != Access::Public {
            responses.insert("401".into(), error_response("Not signed in"));
            responses.insert("403".into(), error_response("Signed in without the access"));
            operation["security"] = json!([{"session": []}, {"bearer": []}]);
        }
        operation["responses"] = Value::Object(responses);
        paths
            .entry(route.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(method, operation);
    }
    for (path, summary) in PAGES {
        paths.entry(*path).or_insert_with(|| {
            json!({"get": {
                "operationId": operation_id("get", path),
                "summary": summary,
                "parameters": parameters(path),
                "x-hale-access": "public",
                "responses": {"200": {"description": "An HTML page", "content": {"text/html": {}}}},
            }})
        });
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hale",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Service health, status pages and alerts. docs/api.md describes each route; `x-hale-access` says who may call it.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "hale_session",
                    "description": "A signed-in browser's session (`__Host-hale_session` behind HTTPS); its writes carry `X-CSRF-Token`"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (`hale api-token add`)"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "parameter": {"type": "string"},
                    },
                },
            },
        },
    })
}

/// `GET /api/openapi.json`, written once.
pub async fn serve() -> impl IntoResponse {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        serde_json::to_string_pretty(&document()).expect("a JSON value serialises")
    });
    ([(header::CONTENT_TYPE, "application/json")], text.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_page_is_listed_with_its_parameters_and_access() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        for route in super::super::routes() {
            let method = route.method.as_str().to_ascii_lowercase();
            let operation = &doc["paths"][route.path][&method];
            assert!(
                operation.is_object(),
                "{} {} missing",
                route.method,
                route.path
            );
            assert_eq!(operation["x-hale-access"], route.access.describe());
        }
        let metrics = &doc["paths"]["/api/metrics/{service}"]["get"];
        assert_eq!(metrics["parameters"][0]["name"], "service");
        assert_eq!(metrics["parameters"][0]["in"], "path");
        assert!(metrics.get("security").is_none(), "public: no security");
        let users = &doc["paths"]["/api/users"]["post"];
        assert_eq!(users["security"][1]["bearer"], json!([]));
        assert_eq!(
            doc["paths"]["/status/{slug}"]["get"]["parameters"][0]["name"],
            "slug"
        );
        assert_eq!(
            operation_id("get", "/api/metrics/{service}"),
            "get_api_metrics_service"
        );
        assert_eq!(operation_id("get", "/"), "get_root");
        // Operation ids are unique, as OpenAPI requires.
        let mut ids: Vec<String> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap().to_string())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
