//! Channels and patterns: SUBSCRIBE, PSUBSCRIBE, PUBLISH, PUBSUB.

use std::collections::HashMap;

use crate::conn::outbox::Outbox;
use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use parking_lot::RwLock;

use crate::conn::encode::encode;
use crate::reply::Reply;
use crate::shared::ClientId;

/// Where a subscriber's messages go: its connection's output, already
/// encoded in the protocol it speaks.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub out: Outbox,
    pub resp3: bool,
}

/// The subscription registry.
#[derive(Debug, Default)]
pub(crate) struct PubSub {
    channels: DashMap<Bytes, HashMap<ClientId, Subscriber>>,
    patterns: RwLock<HashMap<Bytes, HashMap<ClientId, Subscriber>>>,
}

fn frame(parts: Vec<Reply>, resp3: bool) -> Bytes {
    let mut buf = BytesMut::new();
    let reply = if resp3 { Reply::Push(parts) } else { Reply::Array(parts) };
    encode(&reply, resp3, &mut buf);
    buf.freeze()
}

impl PubSub {
    /// Subscribes `client` to `channel`; false if it already was.
    pub(crate) fn subscribe(&self, client: ClientId, channel: Bytes, sub: Subscriber) -> bool {
        self.channels.entry(channel).or_default().insert(client, sub).is_none()
    }

    /// Unsubscribes; false if it was not subscribed.
    pub(crate) fn unsubscribe(&self, client: ClientId, channel: &Bytes) -> bool {
        let removed = self.channels.get_mut(channel).is_some_and(|mut m| m.remove(&client).is_some());
        self.channels.remove_if(channel, |_, m| m.is_empty());
        removed
    }

    /// Subscribes `client` to `pattern`; false if it already was.
    pub(crate) fn psubscribe(&self, client: ClientId, pattern: Bytes, sub: Subscriber) -> bool {
        self.patterns.write().entry(pattern).or_default().insert(client, sub).is_none()
    }

    /// Unsubscribes from a pattern; false if it was not subscribed.
    pub(crate) fn punsubscribe(&self, client: ClientId, pattern: &Bytes) -> bool {
        let mut patterns = self.patterns.write();
        let removed = patterns.get_mut(pattern).is_some_and(|m| m.remove(&client).is_some());
        if patterns.get(pattern).is_some_and(HashMap::is_empty) {
            patterns.remove(pattern);
        }
        removed
    }

    /// Delivers `message` on `channel`; returns how many clients got it.
    pub(crate) fn publish(&self, channel: &Bytes, message: &Bytes) -> i64 {
        let mut delivered = 0;
        if let Some(subs) = self.channels.get(channel) {
            let (mut v2, mut v3) = (None, None);
            for sub in subs.values() {
                let cached = if sub.resp3 { &mut v3 } else { &mut v2 };
                let bytes = cached
                    .get_or_insert_with(|| {
                        let parts =
                            vec![Reply::bulk("message"), Reply::Bulk(channel.clone()), Reply::Bulk(message.clone())];
                        frame(parts, sub.resp3)
                    })
                    .clone();
                if sub.out.send(bytes) {
                    delivered += 1;
                }
            }
        }
        for (pattern, subs) in self.patterns.read().iter() {
            if !crate::glob::matches(pattern, channel) {
                continue;
            }
            for sub in subs.values() {
                let parts = vec![
                    Reply::bulk("pmessage"),
                    Reply::Bulk(pattern.clone()),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(message.clone()),
                ];
                if sub.out.send(frame(parts, sub.resp3)) {
                    delivered += 1;
                }
            }
        }
        delivered
    }

    /// Active channels (with at least one subscriber), optionally matching `pattern`.
    pub(crate) fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let mut out: Vec<Bytes> = self
            .channels
            .iter()
            .filter(|e| !e.value().is_empty() && pattern.is_none_or(|p| crate::glob::matches(p, e.key())))
            .map(|e| e.key().clone())
            .collect();
        out.sort();
        out
    }

    /// Subscribers of `channel`.
    pub(crate) fn numsub(&self, channel: &Bytes) -> i64 {
        self.channels.get(channel).map_or(0, |m| m.len() as i64)
    }

    /// Number of distinct patterns subscribed to.
    pub(crate) fn numpat(&self) -> i64 {
        self.patterns.read().len() as i64
    }
}
