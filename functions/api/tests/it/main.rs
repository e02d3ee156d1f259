//! The `api` Lambda binary driven as AWS Lambda drives it: a Lambda Runtime API on loopback
//! hands it the API Gateway REST events in `fixtures/` (what `cargo lambda invoke
//! --data-file` sends) and collects its responses, while its stores are DynamoDB on moto and
//! its state machine is moto's Step Functions.

mod lambda;
