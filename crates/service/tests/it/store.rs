//! The store on both backends: claim, lease, re-queue, coalescing, restart dedupe, and
//! concurrent claimers.

use crate::support::{new_job, open, store_urls};
use ccci_core::ladder::Verdict;
use ccci_service::job::{JobFilter, JobState, Outcome};
use ccci_service::store::{Enqueued, Store};
use std::collections::BTreeSet;

fn queued_id(e: Enqueued) -> i64 {
    match e {
        Enqueued::Queued { id, .. } => id,
        Enqueued::AlreadyProcessed => panic!("expected a new job"),
    }
}

const GREEN: Outcome = Outcome {
    verdict: Verdict::Green,
    level: 4,
    note: None,
};

#[tokio::test]
async fn claim_skips_a_running_recipe_and_respects_capacity() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let x1 = queued_id(
            store
                .enqueue(&new_job("x", None, "a1", None), 1)
                .await
                .unwrap(),
        );
        let x2 = queued_id(
            store
                .enqueue(&new_job("x", None, "a2", None), 2)
                .await
                .unwrap(),
        );
        let y = queued_id(
            store
                .enqueue(&new_job("y", None, "b1", None), 3)
                .await
                .unwrap(),
        );
        let z = queued_id(
            store
                .enqueue(&new_job("z", None, "c1", None), 4)
                .await
                .unwrap(),
        );

        let first = store.claim("a", 2, 60_000, 10).await.unwrap().unwrap();
        assert_eq!((first.id, first.state), (x1, JobState::Running), "{url}");
        assert_eq!(first.host.as_deref(), Some("a"));
        // x2 is skipped (x runs), not waited on: y starts.
        let second = store.claim("a", 2, 60_000, 11).await.unwrap().unwrap();
        assert_eq!(second.id, y, "{url}");
        assert!(
            store.claim("a", 2, 60_000, 12).await.unwrap().is_none(),
            "capacity 2 reached"
        );
        // Another host may take z, but never x2 while x1 runs.
        let other = store.claim("b", 5, 60_000, 13).await.unwrap().unwrap();
        assert_eq!(other.id, z);
        assert!(
            store.claim("b", 5, 60_000, 14).await.unwrap().is_none(),
            "{url}: x2 must wait for x1"
        );

        // The queue view explains the wait.
        let view = store.queue(20).await.unwrap();
        store.register_host("a", 2, 20).await.unwrap();
        let view_with_hosts = store.queue(20).await.unwrap();
        assert_eq!(
            view.queued.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![x2]
        );
        assert_eq!(
            view_with_hosts.wait_reason(x2).unwrap().to_string(),
            format!("queued behind run {x1} (recipe x)")
        );

        assert!(store.finish(x1, "a", &GREEN, 30).await.unwrap());
        let done = store.job(x1).await.unwrap().unwrap();
        assert_eq!(
            (done.state, done.verdict, done.level),
            (JobState::Done, Some(Verdict::Green), Some(4))
        );
        let next = store.claim("a", 2, 60_000, 31).await.unwrap().unwrap();
        assert_eq!(next.id, x2, "{url}");
    }
}

#[tokio::test]
async fn an_expired_lease_requeues_the_job_and_fences_the_old_host() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let id = queued_id(
            store
                .enqueue(&new_job("x", None, "a1", None), 1)
                .await
                .unwrap(),
        );
        let job = store
            .claim("dead-host", 1, 1_000, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.lease_expires_at, Some(1_100));
        // Heartbeats extend the lease while the host lives.
        assert!(store.heartbeat(id, "dead-host", 2_000).await.unwrap());
        assert!(
            store.requeue_expired(1_999).await.unwrap().is_empty(),
            "{url}"
        );
        // The host dies: no more heartbeats; past the lease the job goes back to the queue.
        assert_eq!(
            store.requeue_expired(2_001).await.unwrap(),
            vec![id],
            "{url}"
        );
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(
            (job.state, job.attempts, job.host),
            (JobState::Queued, 1, None)
        );
        // The dead host, should it come back, can neither renew nor finish the job.
        assert!(!store.heartbeat(id, "dead-host", 9_000).await.unwrap());
        assert!(!store.finish(id, "dead-host", &GREEN, 2_002).await.unwrap());
        // Another host picks it up; claim also re-queues expired leases itself.
        let again = store
            .claim("live-host", 1, 1_000, 2_003)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id, again.host.as_deref()), (id, Some("live-host")));
        let again = store
            .claim("third-host", 1, 1_000, 5_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.id, again.attempts),
            (id, 2),
            "{url}: claim re-queues expired leases"
        );
        // Graceful shutdown gives the job back at once.
        assert!(store.release(id, "third-host").await.unwrap());
        assert_eq!(
            store.job(id).await.unwrap().unwrap().state,
            JobState::Queued
        );
    }
}

#[tokio::test]
async fn repeated_testme_on_one_pr_coalesces_to_the_newest_head() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let old = queued_id(
            store
                .enqueue(&new_job("x", Some(7), "sha-old", Some(1)), 1)
                .await
                .unwrap(),
        );
        let other_pr = queued_id(
            store
                .enqueue(&new_job("x", Some(8), "sha-8", Some(2)), 2)
                .await
                .unwrap(),
        );
        let Enqueued::Queued {
            id: new,
            superseded,
        } = store
            .enqueue(&new_job("x", Some(7), "sha-new", Some(3)), 3)
            .await
            .unwrap()
        else {
            panic!("not queued")
        };
        assert_eq!(
            superseded.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![old],
            "{url}"
        );
        let old_job = store.job(old).await.unwrap().unwrap();
        assert_eq!(old_job.state, JobState::Superseded);
        assert_eq!(old_job.note, Some(format!("superseded by run {new}")));
        let queued: Vec<i64> = store
            .jobs(&JobFilter {
                state: Some(JobState::Queued),
                ..JobFilter::default()
            })
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(queued, vec![new, other_pr], "{url}: newest first");
        // Filters.
        let recipe_x = store
            .jobs(&JobFilter {
                recipe: Some("x".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(recipe_x.len(), 3);
    }
}

#[tokio::test]
async fn comments_deliveries_refusals_and_cursors_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        {
            let store = open(&url).await;
            assert!(matches!(
                store
                    .enqueue(&new_job("x", Some(7), "s", Some(42)), 1)
                    .await
                    .unwrap(),
                Enqueued::Queued { .. }
            ));
            assert!(store.record_delivery("delivery-1", 1).await.unwrap());
            assert!(store.record_refusal("coop-cloud/x", 7, 1).await.unwrap());
            assert!(store
                .mark_comment_processed("coop-cloud/x", 43, 1)
                .await
                .unwrap());
            store
                .set_cursor("coop-cloud/x", "{\"floor\":1}", 1)
                .await
                .unwrap();
        }
        // A new process opens the same database.
        let store = open(&url).await;
        assert_eq!(
            store
                .enqueue(&new_job("x", Some(7), "s", Some(42)), 2)
                .await
                .unwrap(),
            Enqueued::AlreadyProcessed,
            "{url}"
        );
        assert!(store
            .is_comment_processed("coop-cloud/x", 42)
            .await
            .unwrap());
        assert!(store
            .is_comment_processed("coop-cloud/x", 43)
            .await
            .unwrap());
        assert!(!store
            .is_comment_processed("coop-cloud/x", 44)
            .await
            .unwrap());
        assert!(!store
            .mark_comment_processed("coop-cloud/x", 43, 2)
            .await
            .unwrap());
        assert!(
            !store.record_delivery("delivery-1", 2).await.unwrap(),
            "{url}: a replay"
        );
        assert!(store.record_delivery("delivery-2", 2).await.unwrap());
        assert!(!store.record_refusal("coop-cloud/x", 7, 2).await.unwrap());
        assert!(store.record_refusal("coop-cloud/x", 8, 2).await.unwrap());
        assert_eq!(
            store.cursor("coop-cloud/x").await.unwrap().as_deref(),
            Some("{\"floor\":1}")
        );
        assert_eq!(store.cursor("coop-cloud/y").await.unwrap(), None);
        assert_eq!(store.jobs(&JobFilter::default()).await.unwrap().len(), 1);
    }
}

/// Two claimers on separate connections race over one queue: every job is claimed exactly
/// once (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: immediate transactions).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let seed = open(&url).await;
        const N: usize = 40;
        for i in 0..N {
            // Distinct recipes, so nothing but the race limits the claimers.
            seed.enqueue(&new_job(&format!("r{i}"), None, "s", None), i as i64)
                .await
                .unwrap();
        }
        // Plus a few jobs of one recipe: never two of them running at once.
        for i in 0..4 {
            seed.enqueue(&new_job("same", None, &format!("s{i}"), None), 100 + i)
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for host in ["h1", "h2", "h3"] {
            let store: Store = open(&url).await;
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut idle = 0;
                while idle < 3 {
                    match store.claim(host, 1_000, 60_000, 1_000).await.unwrap() {
                        Some(job) => {
                            idle = 0;
                            got.push((job.id, job.recipe));
                        }
                        None => {
                            idle += 1;
                            tokio::task::yield_now().await;
                        }
                    }
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let ids: BTreeSet<i64> = all.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids.len(),
            all.len(),
            "{url}: a job was claimed twice: {all:?}"
        );
        assert_eq!(
            all.iter().filter(|(_, r)| r == "same").count(),
            1,
            "{url}: one run per recipe"
        );
        assert_eq!(all.len(), N + 1, "{url}");
        let running = seed
            .jobs(&JobFilter {
                state: Some(JobState::Running),
                limit: Some(1000),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(running.len(), N + 1);
    }
}
