//! The stream of JSON messages the engine answers a pull or a push with (moby's
//! `jsonmessage.JSONMessage`, one per line, as `docker pull` and `docker push` print them),
//! read into events ([`PullEvent`](crate::events::PullEvent)s, [`PushEvent`](crate::events::PushEvent)s): the messages' errors, a refused request and a lost connection
//! handled in one place, and a [`Transfer`] for what a pull and a push each make of the rest.

use std::collections::VecDeque;

use futures_util::stream::Stream;
use serde::Deserialize;

use crate::endpoint::Endpoint;
use crate::engine::{refusal, ByteStream, Kind, Lost};
use crate::line_stream::{read_lines, LineReader};

/// One message.
#[derive(Deserialize)]
pub(crate) struct JsonMessage {
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// The layer the message is about.
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default, rename = "progressDetail")]
    pub(crate) progress_detail: Option<ProgressDetail>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
    /// A push's result (`{"Tag","Digest","Size"}`, moby's `PushResult`).
    #[serde(default)]
    pub(crate) aux: Option<PushResult>,
}

impl JsonMessage {
    /// The layer, when the message names one.
    pub(crate) fn layer(&self) -> Option<String> {
        self.id.clone().filter(|id| !id.is_empty())
    }

    /// Bytes moved so far and in all, when the message tells them.
    pub(crate) fn progress(&self) -> (Option<u64>, Option<u64>) {
        let detail = self.progress_detail.as_ref();
        (detail.and_then(|d| d.current), detail.and_then(|d| d.total))
    }
}

/// A message's `progressDetail`.
#[derive(Deserialize)]
pub(crate) struct ProgressDetail {
    #[serde(default)]
    pub(crate) current: Option<u64>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

/// The last message of a successful push.
#[derive(Deserialize)]
pub(crate) struct PushResult {
    #[serde(default, rename = "Digest")]
    pub(crate) digest: Option<String>,
    #[serde(default, rename = "Size")]
    pub(crate) size: Option<u64>,
}

/// What a pull or a push makes of the messages.
pub(crate) trait Transfer: Send + 'static {
    /// The request, as a refusal names it (`POST /images/create`), and the word for the
    /// job (`pull`).
    const REQUEST: (&'static str, &'static str);

    /// The events it reports.
    type Event: Send + 'static;

    /// A message that carries no error.
    fn message(&mut self, message: JsonMessage, events: &mut VecDeque<Self::Event>);

    /// The last event: the job's outcome, `failure` the first error there was.
    fn finish(&mut self, failure: Option<String>) -> Self::Event;
}

/// The events of the answer `body`: `first`, one or more per message, and the
/// [`Transfer::finish`] event, once, however the answer ends: an `errorDetail` (the first
/// wins), a refused request (the engine's words; an authorization plugin's refusal says
/// so), or a lost connection (with `endpoint` and the cause).
pub(crate) fn events<T: Transfer>(
    endpoint: Endpoint,
    body: ByteStream,
    first: T::Event,
    transfer: T,
) -> impl Stream<Item = T::Event> + Send + 'static {
    let reader = MessageReader {
        endpoint,
        failure: None,
        transfer,
    };
    read_lines(body, vec![first], reader)
}

struct MessageReader<T> {
    endpoint: Endpoint,
    failure: Option<String>,
    transfer: T,
}

impl<T: Transfer> LineReader for MessageReader<T> {
    type Item = T::Event;

    fn line(&mut self, line: &[u8], events: &mut VecDeque<T::Event>) {
        let Ok(message) = serde_json::from_slice::<JsonMessage>(line.trim_ascii()) else {
            return;
        };
        let error = message
            .error_detail
            .as_ref()
            .and_then(|d| d.message.clone())
            .filter(|m| !m.is_empty())
            .or_else(|| message.error.clone());
        match error {
            Some(reason) => {
                self.failure.get_or_insert(reason);
            }
            None => self.transfer.message(message, events),
        }
    }

    fn end(&mut self, error: Option<bollard::errors::Error>, events: &mut VecDeque<T::Event>) {
        if let Some(error) = error {
            let (request, job) = T::REQUEST;
            let reason = match error {
                bollard::errors::Error::DockerResponseServerError {
                    status_code,
                    message,
                } => match refusal(request, job, status_code, message) {
                    Kind::Refused { message, .. } => message,
                    other => other.to_string(),
                },
                other => Lost::new(&self.endpoint, &other).to_string(),
            };
            self.failure.get_or_insert(reason);
        }
        events.push_back(self.transfer.finish(self.failure.take()));
    }
}
