//! The three providers herald polls, each asked for one metric's 30 s values over a range of
//! buckets through the guarded client, and each answer checked: exactly one series (none is
//! an empty range), numbers only. Anything else — an error status, HTML, several series, a
//! hang (the client's timeout) — is an `Err` in words, recorded on the metric.
//!
//! - Prometheus: `GET /api/v1/query_range?query=&start=&end=&step=30s` (at most 11,000
//!   points per query, Prometheus's own limit).
//! - Datadog: `GET /api/v1/query?from=&to=&query=` with `DD-API-KEY` and
//!   `DD-APPLICATION-KEY`; `pointlist` timestamps are milliseconds.
//! - New Relic: NerdGraph `POST /graphql` with `API-Key`, the metric's NRQL followed by
//!   `SINCE <ms> UNTIL <ms> TIMESERIES 30 seconds` (at most 366 buckets per query).

use herald_domain::metric::points::{BUCKET_SECS, Point, last_write_wins, snap};
use herald_domain::metric::{Metric, Provider, ProviderKind};
use serde_json::{Value, json};

use crate::egress::GuardedClient;

/// Most buckets one query asks for, per provider.
pub fn chunk_buckets(kind: ProviderKind) -> i64 {
    match kind {
        ProviderKind::Prometheus => 11_000,
        ProviderKind::Datadog => 1_440,
        ProviderKind::NewRelic => 360,
        ProviderKind::SelfPush => 0,
    }
}

/// The values of `m` in buckets `from..=to` (unix seconds, multiples of 30).
pub async fn fetch(
    http: &GuardedClient,
    p: &Provider,
    m: &Metric,
    from: i64,
    to: i64,
) -> Result<Vec<Point>, String> {
    let base = p.base_url().ok_or("the provider has no metric_base_uri")?;
    let key = |s: &Option<herald_domain::metric::Secret>| {
        s.as_ref().map(|k| k.0.clone()).unwrap_or_default()
    };
    let body = match p.kind {
        ProviderKind::Prometheus => {
            let url = url::Url::parse_with_params(
                &format!("{base}/api/v1/query_range"),
                &[
                    ("query", m.metric_identifier.as_str()),
                    ("start", &from.to_string()),
                    ("end", &to.to_string()),
                    ("step", "30s"),
                ],
            )
            .map_err(|e| format!("metric_base_uri: {e}"))?;
            answer(http.get(url.as_str(), &[]).await)?
        }
        ProviderKind::Datadog => {
            let url = url::Url::parse_with_params(
                &format!("{base}/api/v1/query"),
                &[
                    ("from", from.to_string().as_str()),
                    ("to", &(to + BUCKET_SECS - 1).to_string()),
                    ("query", &m.metric_identifier),
                ],
            )
            .map_err(|e| format!("metric_base_uri: {e}"))?;
            let headers = [
                ("DD-API-KEY", key(&p.credentials.api_key)),
                ("DD-APPLICATION-KEY", key(&p.credentials.application_key)),
            ];
            answer(http.get(url.as_str(), &headers).await)?
        }
        ProviderKind::NewRelic => {
            let nrql = format!(
                "{} SINCE {} UNTIL {} TIMESERIES 30 seconds",
                m.metric_identifier,
                from * 1000,
                (to + BUCKET_SECS) * 1000
            );
            let q = json!({
                "query": "query($id: Int!, $nrql: Nrql!) { actor { account(id: $id) { nrql(query: $nrql) { results } } } }",
                "variables": {"id": p.account_id, "nrql": nrql},
            });
            let headers = [("API-Key", key(&p.credentials.api_key))];
            let body = serde_json::to_vec(&q).map_err(|e| e.to_string())?;
            answer(
                http.post_json(&format!("{base}/graphql"), &headers, body)
                    .await,
            )?
        }
        ProviderKind::SelfPush => return Ok(Vec::new()),
    };
    let points = match p.kind {
        ProviderKind::Prometheus => prometheus(&body)?,
        ProviderKind::Datadog => datadog(&body)?,
        _ => newrelic(&body)?,
    };
    let kept: Vec<Point> = points
        .into_iter()
        .filter(|p| p.bucket >= from && p.bucket <= to && p.value.is_finite())
        .collect();
    Ok(last_write_wins(&kept))
}

/// The body of a 2xx answer as JSON, or the failure in words.
fn answer(r: Result<crate::egress::Reply, crate::egress::SendError>) -> Result<Value, String> {
    let reply = r.map_err(|e| e.to_string())?;
    let parsed: Result<Value, _> = serde_json::from_str(&reply.body);
    if !(200..300).contains(&reply.status) {
        // Providers explain errors in JSON; quote them, else the start of the body.
        let why = parsed
            .ok()
            .and_then(|v| {
                v.get("error")
                    .or_else(|| v.get("errors"))
                    .map(|e| e.to_string())
            })
            .unwrap_or_else(|| reply.body.chars().take(200).collect());
        return Err(format!("HTTP {}: {why}", reply.status));
    }
    parsed.map_err(|_| {
        format!(
            "the answer is not JSON (it starts {:?})",
            reply.body.chars().take(60).collect::<String>()
        )
    })
}

fn one_series<'a>(list: &'a [Value], what: &str) -> Result<Option<&'a Value>, String> {
    match list {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(format!(
            "the {what} returned {} series; a metric needs exactly one (aggregate it, e.g. sum(...))",
            many.len()
        )),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn prometheus(body: &Value) -> Result<Vec<Point>, String> {
    if body["status"] != "success" {
        return Err(format!("Prometheus: {}", body["error"]));
    }
    let list = body["data"]["result"]
        .as_array()
        .ok_or("Prometheus: the answer has no data.result list")?;
    let Some(series) = one_series(list, "PromQL expression")? else {
        return Ok(Vec::new());
    };
    let values = series["values"]
        .as_array()
        .ok_or("Prometheus: the series has no values (is the expression a range vector?)")?;
    values
        .iter()
        .map(|pair| {
            let t = number(&pair[0]).ok_or("Prometheus: a sample without a timestamp")?;
            let v = number(&pair[1]).ok_or("Prometheus: a sample without a value")?;
            Ok(Point {
                bucket: snap(t as i64),
                value: v,
            })
        })
        .collect()
}

fn datadog(body: &Value) -> Result<Vec<Point>, String> {
    if body.get("status").is_some_and(|s| s == "error") {
        return Err(format!("Datadog: {}", body["error"]));
    }
    let list = body["series"]
        .as_array()
        .ok_or("Datadog: the answer has no series list")?;
    let Some(series) = one_series(list, "Datadog query")? else {
        return Ok(Vec::new());
    };
    let points = series["pointlist"]
        .as_array()
        .ok_or("Datadog: the series has no pointlist")?;
    let mut out = Vec::with_capacity(points.len());
    for pair in points {
        let t = number(&pair[0]).ok_or("Datadog: a point without a timestamp")?;
        // A null value is a gap.
        if let Some(v) = number(&pair[1]) {
            out.push(Point {
                bucket: snap((t / 1000.0) as i64),
                value: v,
            });
        }
    }
    Ok(out)
}

fn newrelic(body: &Value) -> Result<Vec<Point>, String> {
    if let Some(e) = body.get("errors").filter(|e| !e.is_null()) {
        return Err(format!("New Relic: {e}"));
    }
    let results = body["data"]["actor"]["account"]["nrql"]["results"]
        .as_array()
        .ok_or("New Relic: the answer has no data.actor.account.nrql.results list")?;
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        let obj = r
            .as_object()
            .ok_or("New Relic: a result that is not an object")?;
        if obj.contains_key("facet") {
            return Err(
                "the NRQL query returned several series (FACET); a metric needs exactly one".into(),
            );
        }
        let t = obj
            .get("beginTimeSeconds")
            .and_then(number)
            .ok_or("New Relic: a result without beginTimeSeconds (is the query TIMESERIES?)")?;
        let values: Vec<&Value> = obj
            .iter()
            .filter(|(k, _)| *k != "beginTimeSeconds" && *k != "endTimeSeconds")
            .map(|(_, v)| v)
            .collect();
        let v = match values.as_slice() {
            [v] => *v,
            _ => {
                return Err(format!(
                    "the NRQL query returned {} values per bucket; a metric needs exactly one",
                    values.len()
                ));
            }
        };
        if let Some(v) = number(v) {
            out.push(Point {
                bucket: snap(t as i64),
                value: v,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_several_series_or_garbage_are_errors() {
        let two =
            json!({"status": "success", "data": {"result": [{"values": []}, {"values": []}]}});
        assert!(prometheus(&two).unwrap_err().contains("2 series"));
        let one = json!({"status": "success", "data": {"result": [{"values": [[60, "1.5"], [90.0, "NaN"]]}]}});
        assert_eq!(
            prometheus(&one).unwrap()[0],
            Point {
                bucket: 60,
                value: 1.5
            }
        );
        let dd = json!({"series": [{"pointlist": [[61000.0, 2.0], [90000.0, null]]}]});
        assert_eq!(
            datadog(&dd).unwrap(),
            [Point {
                bucket: 60,
                value: 2.0
            }]
        );
        let nr = json!({"data": {"actor": {"account": {"nrql": {"results": [
            {"beginTimeSeconds": 30, "endTimeSeconds": 60, "facet": "a", "count": 1}]}}}}});
        assert!(newrelic(&nr).unwrap_err().contains("FACET"));
        let html = crate::egress::Reply {
            status: 200,
            retry_after: None,
            body: "<html>".into(),
        };
        assert!(answer(Ok(html)).unwrap_err().contains("not JSON"));
    }
}
