//! Function and mapping registry tests over a real store.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_storage::{Durability, Store, StoreOptions};

use super::*;
use crate::queue::{QueueKey, Queues};
use crate::stream::Streams;

pub(super) fn open(dir: &std::path::Path) -> (Functions, Arc<Queues>) {
    let store = Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .unwrap(),
    );
    let clock = Clock::new();
    let queues = Arc::new(Queues::open(store.clone(), clock).unwrap());
    let streams = Arc::new(Streams::open(store.clone(), clock, crate::stream::DEFAULT_TRANSITION).unwrap());
    let topics = Arc::new(crate::topic::Topics::open(store.clone(), clock, queues.clone()).unwrap());
    (
        Functions::open(store, clock, queues.clone(), streams, topics).unwrap(),
        queues,
    )
}

pub(super) fn settings() -> FunctionSettings {
    FunctionSettings {
        runtime: Some("python3.12".into()),
        role: "arn:aws:iam::000000000000:role/r".into(),
        handler: Some("app.handler".into()),
        description: String::new(),
        timeout_secs: 3,
        memory_mb: 128,
        environment: BTreeMap::new(),
        dead_letter_target: None,
        architecture: "x86_64".into(),
    }
}

const OWNER: Owner<'static> = Owner {
    account: "000000000000",
    region: "us-east-1",
};

fn key(name: &str) -> FunctionKey {
    FunctionKey::new("000000000000", "us-east-1", name)
}

#[test]
fn functions_survive_a_restart_and_conflict_on_create() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (functions, _) = open(dir.path());
        let view = functions
            .create_function(&key("f1"), settings(), &Code::Zip(b"zip".to_vec()), BTreeMap::new(), 0)
            .unwrap();
        assert_eq!(view.record.code_size, 3);
        let err = functions
            .create_function(&key("f1"), settings(), &Code::Zip(Vec::new()), BTreeMap::new(), 0)
            .unwrap_err();
        assert!(matches!(err, FunctionError::Conflict(_)));
    }
    let (functions, _) = open(dir.path());
    let view = functions.get_function(&key("f1")).unwrap();
    assert_eq!(view.record.settings.handler.as_deref(), Some("app.handler"));
    assert!(matches!(
        functions.get_function(&key("nope")),
        Err(FunctionError::NotFound(_))
    ));
}

#[test]
fn updates_check_the_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (functions, _) = open(dir.path());
    let created = functions
        .create_function(&key("f1"), settings(), &Code::Zip(Vec::new()), BTreeMap::new(), 0)
        .unwrap();
    let update = SettingsUpdate {
        timeout_secs: Some(30),
        ..SettingsUpdate::default()
    };
    let updated = functions
        .update_settings(&key("f1"), update.clone(), Some(&created.record.revision_id))
        .unwrap();
    assert_eq!(updated.record.settings.timeout_secs, 30);
    assert_ne!(updated.record.revision_id, created.record.revision_id);
    let stale = functions.update_settings(&key("f1"), update, Some(&created.record.revision_id));
    assert!(matches!(stale, Err(FunctionError::PreconditionFailed(_))));
}

#[test]
fn list_pages_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (functions, _) = open(dir.path());
    for name in ["c", "a", "b"] {
        functions
            .create_function(&key(name), settings(), &Code::Zip(Vec::new()), BTreeMap::new(), 0)
            .unwrap();
    }
    let first = functions.list_functions("000000000000", "us-east-1", None, 2);
    let names: Vec<_> = first.items.iter().map(|v| v.key.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let second = functions.list_functions("000000000000", "us-east-1", first.next_marker.as_deref(), 2);
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_marker, None);
}

#[test]
fn sqs_mapping_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (functions, queues) = open(dir.path());
    let queue = QueueKey::new("000000000000", "us-east-1", "q1");
    queues.create_queue(&queue, &BTreeMap::new(), &BTreeMap::new()).unwrap();
    let spec = |settings: MappingUpdate| MappingSpec {
        source_arn: Some(queue.arn()),
        settings: MappingUpdate {
            function: None,
            ..settings
        },
        ..MappingSpec::default()
    };
    // The function must exist.
    let err = functions
        .create_mapping(&key("f1"), spec(MappingUpdate::default()))
        .unwrap_err();
    assert_eq!(err.to_string(), "Function does not exist");
    functions
        .create_function(&key("f1"), settings(), &Code::Zip(Vec::new()), BTreeMap::new(), 0)
        .unwrap();
    // More than 10 needs a window.
    let big = MappingUpdate {
        batch_size: Some(100),
        ..MappingUpdate::default()
    };
    assert!(functions.create_mapping(&key("f1"), spec(big)).is_err());
    let created = functions
        .create_mapping(&key("f1"), spec(MappingUpdate::default()))
        .unwrap();
    assert_eq!((created.state, created.record.batch_size), ("Creating", 10));
    // No supervisor runs here: the poller never starts, so the mapping stays Enabling.
    assert_eq!(
        functions.get_mapping(&OWNER, &created.record.uuid).unwrap().state,
        "Enabling"
    );
    functions.set_polling([created.record.uuid.clone()].into_iter().collect());
    assert_eq!(
        functions.get_mapping(&OWNER, &created.record.uuid).unwrap().state,
        "Enabled"
    );
    // One mapping per function and source.
    assert!(matches!(
        functions.create_mapping(&key("f1"), spec(MappingUpdate::default())),
        Err(FunctionError::Conflict(_))
    ));
    // Stream-only settings are refused for a queue.
    let bisect = MappingUpdate {
        bisect_on_error: Some(true),
        ..MappingUpdate::default()
    };
    assert!(functions.update_mapping(&OWNER, &created.record.uuid, bisect).is_err());
    let disable = MappingUpdate {
        enabled: Some(false),
        ..MappingUpdate::default()
    };
    assert_eq!(
        functions
            .update_mapping(&OWNER, &created.record.uuid, disable)
            .unwrap()
            .state,
        "Disabling"
    );
    assert_eq!(
        functions.get_mapping(&OWNER, &created.record.uuid).unwrap().state,
        "Disabling"
    );
    functions.set_polling(Default::default());
    assert_eq!(
        functions.get_mapping(&OWNER, &created.record.uuid).unwrap().state,
        "Disabled"
    );
    assert_eq!(
        functions.delete_mapping(&OWNER, &created.record.uuid).unwrap().state,
        "Deleting"
    );
    assert!(matches!(
        functions.get_mapping(&OWNER, &created.record.uuid),
        Err(FunctionError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn async_invocations_are_retried_twice_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let (functions, queues) = open(dir.path());
    let functions = Arc::new(functions);
    let dlq = QueueKey::new("000000000000", "us-east-1", "dlq");
    queues.create_queue(&dlq, &BTreeMap::new(), &BTreeMap::new()).unwrap();
    let mut with_dlq = settings();
    with_dlq.dead_letter_target = Some(dlq.arn());
    functions
        .create_function(&key("f1"), with_dlq, &Code::Zip(Vec::new()), BTreeMap::new(), 0)
        .unwrap();
    // A handler that fails every invocation, counting them.
    let hub = functions.hub(&key("f1"));
    let attempts = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let handler = {
        let hub = hub.clone();
        let attempts = attempts.clone();
        tokio::spawn(async move {
            loop {
                let inv = hub.next().await;
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                hub.complete(
                    &inv.request_id,
                    Outcome::Error(bytes::Bytes::from(r#"{"errorMessage":"no"}"#)),
                );
            }
        })
    };
    let settings = PollerSettings {
        base_url: "http://localhost".into(),
    };
    let invoker = functions.spawn_async_invoker(settings, std::future::pending());
    functions.enqueue_event(&key("f1"), br#"{"n": 1}"#).unwrap();
    // Paused time runs ahead while everything waits: the minute and two minutes pass.
    let mut received = Vec::new();
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let request = crate::queue::ReceiveRequest {
            max_messages: 10,
            visibility_timeout: None,
            wait_seconds: Some(0),
            attempt_id: None,
        };
        received = queues.receive(&dlq, request).await.unwrap();
        if !received.is_empty() {
            break;
        }
    }
    assert_eq!(received.len(), 1, "the event reached the dead-letter queue");
    assert_eq!(received[0].body, r#"{"n": 1}"#);
    assert!(received[0].attributes.contains_key("RequestID"));
    assert_eq!(
        attempts.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "one attempt and two retries"
    );
    handler.abort();
    invoker.abort();
}

#[test]
fn function_arns_parse_bare_or_latest() {
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:f";
    assert_eq!(
        FunctionKey::from_arn(arn),
        Some(FunctionKey::new("123456789012", "eu-west-1", "f"))
    );
    assert_eq!(
        FunctionKey::from_arn(&format!("{arn}:$LATEST")).map(|k| k.name),
        Some("f".into())
    );
    for bad in [
        &format!("{arn}:live") as &str,
        "arn:aws:sqs:eu-west-1:1:q",
        "arn:aws:lambda:eu-west-1:1:layer:x",
    ] {
        assert_eq!(FunctionKey::from_arn(bad), None, "{bad}");
    }
}
