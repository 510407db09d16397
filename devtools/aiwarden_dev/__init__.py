"""Developer tooling that never ships in the Lambda layer: the embedded moto server, the demo
estate, and the CloudTrail records moto does not emit."""
