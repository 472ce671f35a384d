//! Store tests against real sled databases (temporary, or on disk for the
//! reopen test).

use super::*;
use crate::domain::ports::ListQuery;

fn query(
    status: Option<Status>,
    page: Option<&str>,
    limit: usize,
    before: Option<CommentId>,
) -> ListQuery<'_> {
    ListQuery {
        status,
        page,
        limit,
        before,
    }
}

fn comment(page: &str, ms: u64, email: u8) -> Comment {
    Comment {
        id: CommentId(ulid::Ulid::from_parts(ms, u128::from(email))),
        page: page.into(),
        parent: None,
        author: "Ann".into(),
        url: None,
        text: "hello".into(),
        html: "<p>hello</p>".into(),
        email_sealed: vec![1, 2, 3],
        email_hash: [email; 32],
        avatar: "00".into(),
        ip: None,
        user_agent: None,
        status: Status::Pending,
        score: 0,
        hits: Vec::new(),
        action: None,
        created_at: ms as i64,
        updated_at: ms as i64,
        by_author: false,
        decisions: Vec::new(),
        edit: None,
        deleted: false,
        notify: Default::default(),
        origin: None,
    }
}

impl SledStore {
    /// Inserts with fingerprints that never collide.
    async fn insert_unique(&self, comment: &Comment) -> Result<(), Error> {
        let mut print = [0u8; 32];
        print[..16].copy_from_slice(&comment.id.to_bytes());
        self.insert(
            comment,
            &Fingerprints {
                commenter_text: print,
                text: print,
            },
            &[],
        )
        .await
    }
}

/// sled releases its file lock when its background flusher thread notices
/// the drop, a moment after the last handle is gone: retry for a while.
fn reopen(path: &std::path::Path) -> SledStore {
    for _ in 0..100 {
        match SledStore::open(path, 1 << 20) {
            Ok(store) => return store,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    SledStore::open(path, 1 << 20).expect("reopen")
}

/// Every index agrees with the comments tree.
fn assert_consistent(store: &SledStore) {
    let mut expected = 0;
    for entry in store.comments.iter() {
        let (_, value) = entry.expect("read");
        let c = decode(&value).expect("decode");
        assert!(
            store
                .by_status
                .contains_key(keys::status_key(c.status, c.id))
                .expect("read")
        );
        assert!(
            store
                .by_page
                .contains_key(keys::page_key(&c.page, c.status, c.id))
                .expect("read")
        );
        assert!(
            store
                .by_email
                .contains_key(keys::email_key(c.email_key(), c.id))
                .expect("read")
        );
        expected += 1;
    }
    assert_eq!(
        store.by_status.len(),
        expected,
        "by_status has stale entries"
    );
    assert_eq!(store.by_page.len(), expected, "by_page has stale entries");
    assert_eq!(store.by_email.len(), expected, "by_email has stale entries");
    for status in Status::ALL {
        let n = store
            .by_status
            .scan_prefix([keys::status_tag(status)])
            .count() as u64;
        assert_eq!(store.status_count(status), n, "counter of {status}");
    }
}

#[tokio::test]
async fn status_changes_move_index_entries() {
    let store = SledStore::temporary().expect("open");
    let c = comment("/a", 1, 1);
    store.insert_unique(&c).await.expect("insert");
    assert_consistent(&store);

    let approved = store
        .set_status(c.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("approve")
        .expect("known");
    assert_eq!(approved.comment.status, Status::Approved);
    assert_eq!(approved.from, Status::Pending);
    assert_consistent(&store);
    assert_eq!(store.approved_for_page("/a").expect("list").len(), 1);
    assert_eq!(store.approved_count("/a").expect("count"), 1);

    // Idempotent.
    store
        .set_status(c.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("again")
        .expect("known");
    assert_consistent(&store);

    store
        .set_status(c.id, Status::Spam, Via::Admin, &[])
        .await
        .expect("spam")
        .expect("known");
    assert_eq!(store.approved_count("/a").expect("count"), 0);
    assert_consistent(&store);

    assert!(store.delete(c.id).await.expect("delete"));
    assert!(!store.delete(c.id).await.expect("delete again"));
    assert!(store.get(c.id).expect("get").is_none());
    assert_consistent(&store);
}

#[tokio::test]
async fn unknown_ids_are_none_not_errors() {
    let store = SledStore::temporary().expect("open");
    let id = CommentId(ulid::Ulid::from_parts(9, 9));
    assert!(
        store
            .set_status(id, Status::Approved, Via::Admin, &[])
            .await
            .expect("set")
            .is_none()
    );
    assert!(store.get(id).expect("get").is_none());
}

#[tokio::test]
async fn a_parent_must_be_approved_and_on_the_same_page() {
    let store = SledStore::temporary().expect("open");
    let parent = comment("/a", 1, 1);
    store.insert_unique(&parent).await.expect("insert");

    let mut reply = comment("/a", 2, 2);
    reply.parent = Some(parent.id);
    assert!(
        matches!(store.insert_unique(&reply).await, Err(Error::InvalidParent)),
        "pending parent"
    );

    store
        .set_status(parent.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("approve");
    let mut elsewhere = comment("/b", 3, 2);
    elsewhere.parent = Some(parent.id);
    assert!(
        matches!(
            store.insert_unique(&elsewhere).await,
            Err(Error::InvalidParent)
        ),
        "other page"
    );

    store.insert_unique(&reply).await.expect("valid reply");
    assert_consistent(&store);
}

#[tokio::test]
async fn listing_pages_newest_first_with_a_cursor() {
    let store = SledStore::temporary().expect("open");
    for ms in 1..=5 {
        store
            .insert_unique(&comment("/a", ms, 1))
            .await
            .expect("insert");
    }
    store
        .insert_unique(&comment("/b", 6, 1))
        .await
        .expect("insert");

    let first = store
        .list(query(Some(Status::Pending), None, 2, None))
        .expect("list");
    let times: Vec<i64> = first.comments.iter().map(|c| c.created_at).collect();
    assert_eq!(times, [6, 5]);
    let second = store
        .list(query(Some(Status::Pending), None, 2, first.next_cursor))
        .expect("list");
    let times: Vec<i64> = second.comments.iter().map(|c| c.created_at).collect();
    assert_eq!(times, [4, 3]);

    let all = store.list(query(None, None, 10, None)).expect("all");
    assert_eq!(all.comments.len(), 6);
    assert!(all.next_cursor.is_none());

    let page = store.list(query(None, Some("/a"), 3, None)).expect("page");
    let times: Vec<i64> = page.comments.iter().map(|c| c.created_at).collect();
    assert_eq!(times, [5, 4, 3]);
    let rest = store
        .list(query(None, Some("/a"), 3, page.next_cursor))
        .expect("page 2");
    let times: Vec<i64> = rest.comments.iter().map(|c| c.created_at).collect();
    assert_eq!(times, [2, 1]);
    assert!(rest.next_cursor.is_none());
}

#[tokio::test]
async fn history_counts_approved_and_spam_by_commenter() {
    let store = SledStore::temporary().expect("open");
    let a = comment("/a", 1, 1);
    let b = comment("/a", 2, 1);
    let other = comment("/a", 3, 2);
    for c in [&a, &b, &other] {
        store.insert_unique(c).await.expect("insert");
    }
    store
        .set_status(a.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("approve");
    store
        .set_status(b.id, Status::Spam, Via::Admin, &[])
        .await
        .expect("spam");
    assert_eq!(
        store.history(a.email_key()).expect("history"),
        History {
            approved: 1,
            spam: 1
        }
    );
    assert_eq!(
        store.history(other.email_key()).expect("history"),
        History::default()
    );
}

#[tokio::test]
async fn a_reopened_database_has_every_comment_and_its_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = comment("/a", 1, 1);
    {
        let store = SledStore::open(dir.path(), 1 << 20).expect("open");
        store.insert_unique(&c).await.expect("insert");
    }
    let store = reopen(dir.path());
    assert_eq!(store.get(c.id).expect("get"), Some(c));
    assert_eq!(store.status_count(Status::Pending), 1);
    assert_consistent(&store);
}

#[tokio::test]
async fn the_same_commenter_text_and_page_is_refused_until_deleted() {
    let store = SledStore::temporary().expect("open");
    let prints = Fingerprints {
        commenter_text: [1; 32],
        text: [2; 32],
    };
    let first = comment("/a", 1, 1);
    store.insert(&first, &prints, &[]).await.expect("first");
    assert_eq!(store.text_last_seen(&[2; 32]).expect("seen"), Some(1));
    let again = comment("/a", 2, 1);
    assert!(matches!(
        store.insert(&again, &prints, &[]).await,
        Err(Error::Duplicate)
    ));
    assert!(
        store.get(again.id).expect("get").is_none(),
        "nothing new is stored"
    );
    assert_consistent(&store);

    store.delete(first.id).await.expect("delete");
    store
        .insert(&again, &prints, &[])
        .await
        .expect("allowed once the first is gone");
    assert_consistent(&store);
}

#[test]
fn records_without_the_audit_fields_still_decode() {
    let mut old = serde_json::to_value(comment("/a", 1, 1)).expect("encode");
    let object = old.as_object_mut().expect("object");
    object.remove("decisions");
    object.remove("by_author");
    let c = decode(&serde_json::to_vec(&old).expect("bytes")).expect("decode");
    assert!(c.decisions.is_empty() && !c.by_author && c.has_email());
    // A route name from a newer version does not make the record unreadable.
    let mut newer = serde_json::to_value(comment("/a", 1, 1)).expect("encode");
    newer["decisions"] = serde_json::json!([
        {"from": "pending", "to": "approved", "at": 5, "via": "carrier-pigeon"}
    ]);
    let c = decode(&serde_json::to_vec(&newer).expect("bytes")).expect("decode");
    assert_eq!(c.decisions[0].via, Via::Unknown);
}

#[tokio::test]
async fn status_changes_are_recorded_once_each() {
    let store = SledStore::temporary().expect("open");
    let c = comment("/a", 1, 1);
    store.insert_unique(&c).await.expect("insert");
    for (status, via) in [
        (Status::Approved, Via::Admin),
        (Status::Approved, Via::Bulk),
        (Status::Spam, Via::Bulk),
    ] {
        store.set_status(c.id, status, via, &[]).await.expect("set");
    }
    let stored = store.get(c.id).expect("get").expect("known");
    let trail: Vec<_> = stored
        .decisions
        .iter()
        .map(|d| (d.from, d.to, d.via))
        .collect();
    assert_eq!(
        trail,
        [
            (Status::Pending, Status::Approved, Via::Admin),
            (Status::Approved, Status::Spam, Via::Bulk),
        ]
    );
    assert_eq!(stored.updated_at, stored.decisions[1].at);
}

#[tokio::test]
async fn a_reply_approves_a_pending_parent_in_the_same_transaction() {
    let store = SledStore::temporary().expect("open");
    let parent = comment("/a", 1, 1);
    store.insert_unique(&parent).await.expect("insert");
    let mut reply = comment("/a", 2, 9);
    reply.parent = Some(parent.id);
    reply.status = Status::Approved;
    reply.by_author = true;
    reply.email_sealed = Vec::new();

    let after = store
        .insert_reply(&reply, [7; 32], &[])
        .await
        .expect("reply");
    assert_eq!(after.status, Status::Approved);
    assert_eq!(after.decisions[0].via, Via::Reply);
    assert_eq!(store.approved_count("/a").expect("count"), 2);
    assert_eq!(store.status_count(Status::Pending), 0);
    assert_consistent(&store);

    // The same fingerprint again is a duplicate.
    let mut twice = comment("/a", 3, 9);
    twice.parent = Some(parent.id);
    twice.status = Status::Approved;
    assert!(matches!(
        store.insert_reply(&twice, [7; 32], &[]).await,
        Err(Error::Duplicate)
    ));

    // A spam parent, an unknown one, another page: refused, nothing stored.
    store
        .set_status(parent.id, Status::Spam, Via::Admin, &[])
        .await
        .expect("spam");
    let mut to_spam = comment("/a", 4, 9);
    to_spam.parent = Some(parent.id);
    assert!(matches!(
        store.insert_reply(&to_spam, [8; 32], &[]).await,
        Err(Error::ParentClosed(Status::Spam))
    ));
    let mut orphan = comment("/a", 5, 9);
    orphan.parent = Some(CommentId(ulid::Ulid::from_parts(99, 9)));
    assert!(matches!(
        store.insert_reply(&orphan, [9; 32], &[]).await,
        Err(Error::ParentNotFound)
    ));
    store
        .set_status(parent.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("approve");
    let mut elsewhere = comment("/b", 6, 9);
    elsewhere.parent = Some(parent.id);
    assert!(matches!(
        store.insert_reply(&elsewhere, [10; 32], &[]).await,
        Err(Error::InvalidParent)
    ));
    assert!(store.get(to_spam.id).expect("get").is_none());
    assert!(store.get(elsewhere.id).expect("get").is_none());
    assert_consistent(&store);
}

#[tokio::test]
async fn jobs_are_stored_with_their_comment_and_claimed_once_per_lease() {
    use crate::domain::outbox::{Job, Scheduled};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path(), 1 << 20).expect("open");
    let c = comment("/a", 1, 1);
    let job = Job::AuthorMail {
        comment: c.id,
        status: Status::Pending,
    };
    let prints = Fingerprints {
        commenter_text: [9; 32],
        text: [9; 32],
    };
    store
        .insert(
            &c,
            &prints,
            &[Scheduled {
                job: job.clone(),
                at: 100,
            }],
        )
        .await
        .expect("insert");
    assert_eq!(store.pending_jobs(), 1);

    // Not due before its time; due once, then held for the lease.
    assert!(store.claim_jobs(99, 1_000, 10).expect("claim").is_empty());
    let claimed = store.claim_jobs(100, 1_000, 10).expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].job.clone(), claimed[0].attempts),
        (job.clone(), 0)
    );
    assert!(
        store.claim_jobs(500, 1_000, 10).expect("claim").is_empty(),
        "leased"
    );
    let again = store.claim_jobs(1_100, 1_000, 10).expect("claim");
    assert_eq!(again.len(), 1, "a lease that ran out frees the job");

    // Rescheduled: due later, with its attempts.
    store
        .reschedule_job(again[0].id, 5_000, 1)
        .expect("reschedule");
    assert!(
        store
            .claim_jobs(4_999, 1_000, 10)
            .expect("claim")
            .is_empty()
    );
    let id = again[0].id;
    drop(store);

    // A restart keeps the job and frees any lease.
    let store = reopen(dir.path());
    assert_eq!(store.pending_jobs(), 1);
    let after = store.claim_jobs(5_000, 1_000, 10).expect("claim");
    assert_eq!((after[0].id, after[0].attempts), (id, 1));
    store.complete_job(id).expect("complete");
    assert_eq!(store.pending_jobs(), 0);
    assert!(store.claim_jobs(i64::MAX, 1, 10).expect("claim").is_empty());
}

#[tokio::test]
async fn a_refused_insert_writes_no_job() {
    use crate::domain::outbox::{Job, Scheduled};
    let store = SledStore::temporary().expect("open");
    let mut reply = comment("/a", 2, 1);
    reply.parent = Some(CommentId(ulid::Ulid::from_parts(1, 1)));
    let job = Scheduled {
        job: Job::Webhook {
            comment: reply.id,
            status: Status::Pending,
        },
        at: 0,
    };
    let prints = Fingerprints {
        commenter_text: [1; 32],
        text: [1; 32],
    };
    assert!(matches!(
        store.insert(&reply, &prints, &[job]).await,
        Err(Error::InvalidParent)
    ));
    assert_eq!(store.pending_jobs(), 0);
    assert!(store.claim_jobs(i64::MAX, 1, 10).expect("claim").is_empty());
}
