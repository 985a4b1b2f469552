# syntax=docker/dockerfile:1
# The README's sample: cargo run -p dockerfile-froms --example froms -- <this file> …
ARG GO_VERSION=1.22
ARG TAG=3.20
FROM golang:${GO_VERSION}-alpine${TAG} AS Build
COPY --from=nginx:1.25 /etc/nginx/nginx.conf /etc/nginx/
RUN --mount=type=bind,from=alpine:3.19,target=/alpine ls /alpine

FROM gcr.io/distroless/static
COPY --from=build /go/bin/app /app
