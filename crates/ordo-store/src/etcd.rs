//! The etcd engine: every key lives under a fixed prefix of an etcd v3 cluster.
//!
//! Revisions are etcd's own (global to the cluster, shared by every prefix). Conditional writes
//! are etcd transactions comparing `create_revision` / `mod_revision`; watches are etcd watches
//! with `prev_kv`. Note etcd's compaction keeps the event AT the compacted revision, so a watch
//! from exactly one revision below it still works there (SQLite refuses it).

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType,
    GetOptions, KvClient, PutOptions, Txn, TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};
use futures::StreamExt;

use crate::{
    prefix_end, range_start, KeyValue, ListPage, Result, Revision, Store, StoreError, WatchEvent,
    WatchStream,
};

/// Largest gRPC message accepted (big lists and watch responses).
const MAX_MESSAGE: usize = 512 * 1024 * 1024;
/// How long `connect` and watch creation wait for etcd to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The etcd engine. Cheap to clone.
#[derive(Clone)]
pub struct EtcdStore {
    kv: KvClient,
    watcher: WatchClient,
    prefix: String,
}

fn etcd_err(e: etcd_client::Error) -> StoreError {
    StoreError::Unavailable(format!("etcd: {e}"))
}

fn status_message(e: &etcd_client::Error) -> &str {
    match e {
        etcd_client::Error::GRpcStatus(status) => status.message(),
        _ => "",
    }
}

fn is_compacted_err(e: &etcd_client::Error) -> bool {
    status_message(e).contains("required revision has been compacted")
}

fn is_future_rev_err(e: &etcd_client::Error) -> bool {
    status_message(e).contains("required revision is a future revision")
}

fn missing_header() -> StoreError {
    StoreError::Unavailable("etcd: response without header".into())
}

impl EtcdStore {
    /// Connects to `endpoints` (e.g. `http://127.0.0.1:2379`) and checks that etcd answers.
    /// Every key of this store is stored under `prefix` (e.g. `/registry/`).
    pub async fn connect(endpoints: &[String], prefix: &str) -> Result<EtcdStore> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(10));
        let client =
            tokio::time::timeout(ANSWER_TIMEOUT, Client::connect(endpoints, Some(options)))
                .await
                .map_err(|_| StoreError::Unavailable("etcd: connect timed out".into()))?
                .map_err(etcd_err)?;
        let store = EtcdStore {
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            watcher: client.watch_client().max_decoding_message_size(MAX_MESSAGE),
            prefix: prefix.to_owned(),
        };
        let revision = tokio::time::timeout(ANSWER_TIMEOUT, store.current_revision())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!("etcd at {endpoints:?} does not answer"))
            })??;
        tracing::info!(?endpoints, prefix, revision, "connected to etcd");
        Ok(store)
    }

    fn full(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(self.prefix.as_bytes());
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// etcd's range end for every key starting with `full` (`\0` = no end).
    fn range_end(full: &[u8]) -> Vec<u8> {
        prefix_end(full).unwrap_or_else(|| vec![0])
    }

    fn convert(&self, kv: &etcd_client::KeyValue) -> KeyValue {
        let key = kv.key();
        let key = key.strip_prefix(self.prefix.as_bytes()).unwrap_or(key);
        KeyValue {
            key: String::from_utf8_lossy(key).into_owned(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        }
    }

    async fn txn(&self, txn: Txn) -> Result<(bool, Revision, Vec<TxnOpResponse>)> {
        let resp = self.kv.clone().txn(txn).await.map_err(etcd_err)?;
        let revision = resp.header().ok_or_else(missing_header)?.revision();
        Ok((resp.succeeded(), revision, resp.op_responses()))
    }

    /// Turns the `get` of a failed conditional transaction into `NotFound` or `Conflict`.
    fn failed_condition(&self, key: &str, responses: &[TxnOpResponse]) -> StoreError {
        let current = responses.iter().find_map(|r| match r {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.mod_revision()),
            _ => None,
        });
        match current {
            Some(current) => StoreError::Conflict {
                key: key.to_owned(),
                current,
            },
            None => StoreError::NotFound(key.to_owned()),
        }
    }

    fn convert_event(&self, event: &etcd_client::Event) -> Option<WatchEvent> {
        let kv = event.kv()?;
        let prev = event.prev_kv().map(|p| self.convert(p));
        Some(match event.event_type() {
            EventType::Put => WatchEvent::Put {
                kv: self.convert(kv),
                prev,
            },
            EventType::Delete => {
                let deleted = self.convert(kv);
                WatchEvent::Delete {
                    // The previous value is missing only if etcd compacted it already.
                    prev: prev.unwrap_or_else(|| KeyValue {
                        key: deleted.key,
                        value: Vec::new(),
                        create_revision: 0,
                        mod_revision: 0,
                    }),
                    revision: deleted.mod_revision,
                }
            }
        })
    }

    /// Waits for etcd to report the compaction of a watch that starts at a compacted revision.
    async fn compaction_of(&self, watch: &mut etcd_client::WatchStream) -> Option<Revision> {
        let wait = async {
            while let Ok(Some(resp)) = watch.message().await {
                if resp.compact_revision() != 0 {
                    return Some(resp.compact_revision());
                }
            }
            None
        };
        tokio::time::timeout(ANSWER_TIMEOUT, wait)
            .await
            .ok()
            .flatten()
    }
}

/// State of one etcd watch turned into a [`WatchStream`].
struct EtcdWatch {
    store: EtcdStore,
    watch: etcd_client::WatchStream,
    pending: VecDeque<WatchEvent>,
    last: Revision,
    done: bool,
}

impl EtcdWatch {
    async fn step(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last = event.revision();
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            let error = match self.watch.message().await {
                Ok(Some(resp)) if resp.compact_revision() != 0 => StoreError::Compacted {
                    requested: self.last,
                    compacted: resp.compact_revision(),
                },
                Ok(Some(resp)) if resp.canceled() => StoreError::Unavailable(format!(
                    "etcd watch canceled: {}",
                    resp.cancel_reason()
                )),
                Ok(Some(resp)) => {
                    let events = resp.events().iter();
                    let converted = events.filter_map(|e| self.store.convert_event(e));
                    self.pending.extend(converted.collect::<Vec<_>>());
                    continue;
                }
                Ok(None) => StoreError::Unavailable("etcd watch stream ended".into()),
                Err(e) => etcd_err(e),
            };
            self.done = true;
            return Some((Err(error), self));
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn current_revision(&self) -> Result<Revision> {
        let options = GetOptions::new().with_keys_only().with_limit(1);
        let resp = self
            .kv
            .clone()
            .get(self.prefix.as_bytes(), Some(options))
            .await
            .map_err(etcd_err)?;
        Ok(resp.header().ok_or_else(missing_header)?.revision())
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let resp = self
            .kv
            .clone()
            .get(self.full(key), None)
            .await
            .map_err(etcd_err)?;
        Ok(resp.kvs().first().map(|kv| self.convert(kv)))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        let full_prefix = self.full(prefix);
        let start = range_start(&full_prefix, start_after.map(|s| self.full(s)).as_deref());
        let mut options = GetOptions::new().with_range(Self::range_end(&full_prefix));
        if limit > 0 {
            options = options.with_limit(limit as i64);
        }
        // One range request is served at one revision: the header's.
        let resp = self
            .kv
            .clone()
            .get(start, Some(options))
            .await
            .map_err(etcd_err)?;
        Ok(ListPage {
            items: resp.kvs().iter().map(|kv| self.convert(kv)).collect(),
            revision: resp.header().ok_or_else(missing_header)?.revision(),
            more: resp.more(),
        })
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let full = self.full(key);
        let txn = Txn::new()
            .when([Compare::create_revision(full.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(full, value.clone(), None)]);
        let (ok, revision, _) = self.txn(txn).await?;
        if !ok {
            return Err(StoreError::AlreadyExists(key.to_owned()));
        }
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        let full = self.full(key);
        let txn = Txn::new()
            .when([
                Compare::create_revision(full.clone(), CompareOp::Greater, 0),
                Compare::mod_revision(full.clone(), CompareOp::Equal, expected),
            ])
            .and_then([TxnOp::put(
                full.clone(),
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(full, None)]);
        let (ok, revision, responses) = self.txn(txn).await?;
        if !ok {
            return Err(self.failed_condition(key, &responses));
        }
        let create_revision = responses
            .iter()
            .find_map(|r| match r {
                TxnOpResponse::Put(put) => put.prev_key().map(|p| p.create_revision()),
                _ => None,
            })
            .ok_or_else(|| StoreError::Unavailable("etcd: update without prev_kv".into()))?;
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision: revision,
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let full = self.full(key);
        let mut compares = vec![Compare::create_revision(
            full.clone(),
            CompareOp::Greater,
            0,
        )];
        if let Some(expected) = expected {
            compares.push(Compare::mod_revision(
                full.clone(),
                CompareOp::Equal,
                expected,
            ));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                full.clone(),
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(full, None)]);
        let (ok, revision, responses) = self.txn(txn).await?;
        if !ok {
            return Err(self.failed_condition(key, &responses));
        }
        let prev = responses
            .iter()
            .find_map(|r| match r {
                TxnOpResponse::Delete(del) => del.prev_kvs().first().map(|p| self.convert(p)),
                _ => None,
            })
            // Deleted by someone else between compare and delete cannot happen in one txn.
            .ok_or_else(|| StoreError::NotFound(key.to_owned()))?;
        Ok((prev, revision))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let after = after.max(0);
        let full = self.full(prefix);
        let end = Self::range_end(&full);
        // etcd reports a compacted start revision only asynchronously on the watch; a read at
        // the start revision tells at once (of one key: the revision check is what matters).
        let probe = GetOptions::new()
            .with_revision(after + 1)
            .with_keys_only()
            .with_limit(1);
        let compacted = match self.kv.clone().get(full.clone(), Some(probe)).await {
            Ok(_) => false,
            Err(e) if is_compacted_err(&e) => true,
            Err(e) if is_future_rev_err(&e) => false,
            Err(e) => return Err(etcd_err(e)),
        };
        let options = WatchOptions::new()
            .with_range(end)
            .with_start_revision(after + 1)
            .with_prev_key();
        let mut watch = self
            .watcher
            .clone()
            .watch(full, Some(options))
            .await
            .map_err(etcd_err)?;
        let created = tokio::time::timeout(ANSWER_TIMEOUT, watch.message())
            .await
            .map_err(|_| StoreError::Unavailable("etcd: watch creation timed out".into()))?
            .map_err(etcd_err)?
            .ok_or_else(|| StoreError::Unavailable("etcd: watch stream closed".into()))?;
        if created.compact_revision() != 0 {
            return Err(StoreError::Compacted {
                requested: after,
                compacted: created.compact_revision(),
            });
        }
        if created.canceled() {
            return Err(StoreError::Unavailable(format!(
                "etcd watch canceled: {}",
                created.cancel_reason()
            )));
        }
        if compacted {
            let compacted = self.compaction_of(&mut watch).await.unwrap_or(after + 1);
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        let mut pending = VecDeque::new();
        pending.extend(
            created
                .events()
                .iter()
                .filter_map(|e| self.convert_event(e)),
        );
        let state = EtcdWatch {
            store: self.clone(),
            watch,
            pending,
            last: after,
            done: false,
        };
        Ok(futures::stream::unfold(state, EtcdWatch::step).boxed())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let options = CompactionOptions::new().with_physical();
        match self
            .kv
            .clone()
            .compact(revision, Some(options.clone()))
            .await
        {
            Ok(_) => Ok(()),
            // Already compacted further: nothing to do.
            Err(e) if is_compacted_err(&e) => Ok(()),
            // Beyond the current revision: compact everything there is.
            Err(e) if is_future_rev_err(&e) => {
                let current = self.current_revision().await?;
                match self.kv.clone().compact(current, Some(options)).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_compacted_err(&e) => Ok(()),
                    Err(e) => Err(etcd_err(e)),
                }
            }
            Err(e) => Err(etcd_err(e)),
        }
    }
}
