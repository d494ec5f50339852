-- wrk script: one short text per POST /v1/embed.
wrk.method = "POST"
wrk.body = '{"texts":["hello world"]}'
wrk.headers["Content-Type"] = "application/json"
