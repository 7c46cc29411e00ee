//! A Rust client of a BEAT node's API (`beat_core::api::client`): submit, follow the commit
//! stream, read back.
//!
//! ```sh
//! cargo run --release --example api_client -- http://127.0.0.1:8080 <token> 'set rust hello'
//! ```
#![allow(clippy::print_stdout)]

use beat_core::api::client::Client;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token, tx] = &args[..] else { return Err("usage: api_client URL TOKEN TRANSACTION".into()) };
    let c = Client::new(base, Some(token.clone()))?;
    let body = serde_json::json!({ "transactions": [tx] }).to_string();
    let r = c
        .request("POST", "/v1/transactions", &[("Content-Type", "application/json".into())], body.as_bytes())
        .map_err(|e| e.to_string())?;
    if r.status != 202 {
        return Err(format!("submit: {} {}", r.status, r.text()));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    let id = v["results"][0]["id"].as_str().ok_or("no id")?.to_string();
    // Follow the commit stream until the transaction shows up.
    let mut epoch = None;
    c.events("/v1/commits?from=0", &[], |event_id, _, data| {
        if data.contains(&id) {
            epoch = event_id.map(str::to_string);
            return false;
        }
        true
    })
    .map_err(|e| e.to_string())?;
    let epoch = epoch.ok_or("the stream ended before the transaction committed")?;
    let st = c.request("GET", &format!("/v1/transactions/{id}"), &[], b"").map_err(|e| e.to_string())?;
    if !st.text().contains("\"committed\"") {
        return Err(format!("state: {}", st.text()));
    }
    println!("rust: committed {id} in epoch {epoch}");
    Ok(())
}
