//! The hello-world Lambda the cold-start figures compare every function with: the same
//! runtime, the same tracing set-up, the same release profile, and nothing else (it answers
//! each event with its own payload).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| async move { Ok::<Value, Error>(e.payload) })).await
}
