//! The `Store` port's contract, on whichever backend this run uses (sled,
//! or PostgreSQL with `TEST_MODERATO_BACKEND=postgres`): what the core
//! relies on from any store, driven through the port itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moderato::domain::ports::{Fingerprints, ListQuery, Store, StoreError};
use moderato::domain::privacy::EmailKey;
use moderato::domain::{Comment, CommentId, Status, Via, now_millis};

use crate::helpers::TestApp;

/// Ids in creation order, even within one millisecond.
fn next_id() -> CommentId {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    CommentId(ulid::Ulid::from_parts(now_millis() as u64, u128::from(n)))
}

fn comment(page: &str, email: u8, text: &str) -> Comment {
    let now = now_millis();
    Comment {
        id: next_id(),
        page: page.into(),
        parent: None,
        author: "Ann".into(),
        url: None,
        text: text.into(),
        html: format!("<p>{text}</p>"),
        email_sealed: vec![9; 40],
        email_hash: [email; 32],
        avatar: "00".into(),
        ip: None,
        user_agent: None,
        status: Status::Pending,
        score: 0,
        hits: Vec::new(),
        action: None,
        created_at: now,
        updated_at: now,
        by_author: false,
        decisions: Vec::new(),
        edit: None,
        deleted: false,
        notify: Default::default(),
        origin: None,
    }
}

/// Fingerprints that depend on the commenter, page and text, like the
/// core's (which are keyed; these need not be).
fn prints(c: &Comment) -> Fingerprints {
    let mut commenter_text = [0u8; 32];
    for (i, b) in c.email_hash[..1]
        .iter()
        .chain(c.page.as_bytes())
        .chain(c.text.as_bytes())
        .enumerate()
    {
        commenter_text[i % 32] ^= b.wrapping_add(i as u8);
    }
    let mut text = [0u8; 32];
    for (i, b) in c.text.bytes().enumerate() {
        text[i % 32] ^= b;
    }
    Fingerprints {
        commenter_text,
        text,
    }
}

fn store(app: &TestApp) -> Arc<dyn Store> {
    app.state.store().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_identical_comments_racing_exactly_one_is_stored() {
    let app = TestApp::new();
    let store = store(&app);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let c = comment("/race/", 1, "the very same words");
            store.insert(&c, &prints(&c), &[]).await
        }));
    }
    let (mut stored, mut duplicates) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => stored += 1,
            Err(StoreError::Duplicate) => duplicates += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((stored, duplicates), (1, 7));
    assert_eq!(store.status_count(Status::Pending), 1);
    // Another commenter's same words are not a duplicate.
    let other = comment("/race/", 2, "the very same words");
    store
        .insert(&other, &prints(&other), &[])
        .await
        .expect("insert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_link_is_claimed_once_of_many_concurrent_claims() {
    let app = TestApp::new();
    let store = store(&app);
    let mac = [7u8; 32];
    assert!(!store.link_used(&mac).await.expect("used"));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.claim_link(&mac).await }));
    }
    let mut won = 0;
    for task in tasks {
        if task.await.expect("task").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert!(store.link_used(&mac).await.expect("used"));
    store.release_link(&mac).await.expect("release");
    assert!(store.claim_link(&mac).await.expect("claim again"));
}

#[tokio::test]
async fn a_readers_reply_needs_an_approved_parent_of_the_same_page() {
    let app = TestApp::new();
    let store = store(&app);
    let parent = comment("/a/", 1, "the parent");
    store
        .insert(&parent, &prints(&parent), &[])
        .await
        .expect("parent");
    let mut reply = comment("/a/", 2, "a reply");
    reply.parent = Some(parent.id);
    assert!(matches!(
        store.insert(&reply, &prints(&reply), &[]).await,
        Err(StoreError::InvalidParent)
    ));
    store
        .set_status(parent.id, Status::Approved, Via::Admin, &[])
        .await
        .expect("approve");
    let mut elsewhere = comment("/b/", 2, "a reply elsewhere");
    elsewhere.parent = Some(parent.id);
    assert!(matches!(
        store.insert(&elsewhere, &prints(&elsewhere), &[]).await,
        Err(StoreError::InvalidParent)
    ));
    store
        .insert(&reply, &prints(&reply), &[])
        .await
        .expect("reply");
    // Nothing of the refused ones was stored.
    assert_eq!(store.status_count(Status::Pending), 1);
}

#[tokio::test]
async fn the_authors_reply_approves_a_pending_parent_and_refuses_a_rejected_one() {
    let app = TestApp::new();
    let store = store(&app);
    let parent = comment("/a/", 1, "a question");
    store
        .insert(&parent, &prints(&parent), &[])
        .await
        .expect("parent");
    let generation = store.page_generation("/a/");
    let mut reply = comment("/a/", 0, "an answer");
    reply.parent = Some(parent.id);
    reply.status = Status::Approved;
    reply.by_author = true;
    let after = store
        .insert_reply(&reply, [1; 32], &[])
        .await
        .expect("reply approves");
    assert_eq!(after.status, Status::Approved);
    assert_eq!(after.decisions.last().map(|d| d.via), Some(Via::Reply));
    assert_ne!(store.page_generation("/a/"), generation);
    assert_eq!(store.approved_count("/a/").await.expect("count"), 2);
    // A double click: the same reply again, under a new id.
    let mut again = reply.clone();
    again.id = next_id();
    assert!(matches!(
        store.insert_reply(&again, [1; 32], &[]).await,
        Err(StoreError::Duplicate)
    ));

    let closed = comment("/a/", 3, "not kind");
    store
        .insert(&closed, &prints(&closed), &[])
        .await
        .expect("insert");
    store
        .set_status(closed.id, Status::Rejected, Via::Admin, &[])
        .await
        .expect("reject");
    let mut under_closed = comment("/a/", 0, "an answer to it");
    under_closed.parent = Some(closed.id);
    under_closed.status = Status::Approved;
    assert!(matches!(
        store.insert_reply(&under_closed, [2; 32], &[]).await,
        Err(StoreError::ParentClosed(Status::Rejected))
    ));
    assert!(store.get(under_closed.id).await.expect("get").is_none());
}

#[tokio::test]
async fn status_changes_keep_counts_history_and_the_audit_trail() {
    let app = TestApp::new();
    let store = store(&app);
    let c = comment("/a/", 4, "hello");
    store.insert(&c, &prints(&c), &[]).await.expect("insert");
    let moved = store
        .set_status(c.id, Status::Approved, Via::Bulk, &[])
        .await
        .expect("approve")
        .expect("known");
    assert_eq!(moved.from, Status::Pending);
    let again = store
        .set_status(c.id, Status::Approved, Via::Bulk, &[])
        .await
        .expect("again")
        .expect("known");
    assert_eq!(again.comment.decisions.len(), 1, "a repeat records nothing");
    assert_eq!(store.status_count(Status::Approved), 1);
    assert_eq!(store.status_count(Status::Pending), 0);
    let history = store.history(EmailKey([4; 32])).await.expect("history");
    assert_eq!((history.approved, history.spam), (1, 0));
    assert_eq!(
        store.approved_for_page("/a/").await.expect("page")[0].id,
        c.id
    );
    assert!(
        store
            .set_status(next_id(), Status::Spam, Via::Admin, &[])
            .await
            .expect("unknown")
            .is_none()
    );
    assert!(store.delete(c.id).await.expect("delete"));
    assert!(!store.delete(c.id).await.expect("delete again"));
    assert_eq!(store.status_count(Status::Approved), 0);
    // The fingerprint of a deleted comment no longer counts.
    store
        .insert(&c, &prints(&c), &[])
        .await
        .expect("insert again");
}

#[tokio::test]
async fn listings_page_through_every_comment_newest_first() {
    let app = TestApp::new();
    let store = store(&app);
    let mut ids = Vec::new();
    for i in 0..25u8 {
        let c = comment(if i % 2 == 0 { "/even/" } else { "/odd/" }, i, "text");
        store.insert(&c, &prints(&c), &[]).await.expect("insert");
        ids.push(c.id);
    }
    for (status, page, expected) in [
        (None, None, ids.clone()),
        (
            Some(Status::Pending),
            Some("/even/"),
            ids.iter().copied().step_by(2).collect::<Vec<_>>(),
        ),
        (Some(Status::Pending), None, ids.clone()),
        (
            None,
            Some("/odd/"),
            ids.iter().copied().skip(1).step_by(2).collect(),
        ),
    ] {
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let listing = store
                .list(ListQuery {
                    status,
                    page,
                    limit: 10,
                    before,
                })
                .await
                .expect("list");
            seen.extend(listing.comments.iter().map(|c| c.id));
            match listing.next_cursor {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        let mut newest_first = expected.clone();
        newest_first.reverse();
        assert_eq!(seen, newest_first, "{status:?} {page:?}");
    }
    let all = store.comments_after(None, 100).await.expect("all");
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
    let rest = store
        .comments_after(Some(ids[19]), 100)
        .await
        .expect("rest");
    assert_eq!(rest.len(), 5);
}

#[tokio::test]
async fn imports_keep_ids_once_and_erasure_removes_every_comment_of_one_commenter() {
    let app = TestApp::new();
    let store = store(&app);
    let mut old = comment("/a/", 5, "from the old blog");
    old.status = Status::Approved;
    old.created_at = 1_000;
    assert!(store.import(&old, &prints(&old)).await.expect("import"));
    assert!(!store.import(&old, &prints(&old)).await.expect("again"));
    store.flush().await.expect("flush");
    assert_eq!(store.status_count(Status::Approved), 1);
    assert_eq!(
        store
            .text_last_seen(&prints(&old).text)
            .await
            .expect("seen"),
        Some(1_000)
    );
    let newer = comment("/b/", 5, "a second one");
    store
        .insert(&newer, &prints(&newer), &[])
        .await
        .expect("insert");
    let other = comment("/b/", 6, "someone else");
    store
        .insert(&other, &prints(&other), &[])
        .await
        .expect("insert");

    let erased = store
        .erase_commenter(EmailKey([5; 32]), &|_: &Comment| [0; 32])
        .await
        .expect("erase");
    assert_eq!(erased, 2);
    assert!(store.get(old.id).await.expect("get").is_none());
    assert!(store.get(newer.id).await.expect("get").is_none());
    assert!(store.get(other.id).await.expect("get").is_some());
    assert_eq!(store.status_count(Status::Approved), 0);
    assert_eq!(store.status_count(Status::Pending), 1);
    // Their words may be posted again.
    store
        .insert(&newer, &prints(&newer), &[])
        .await
        .expect("insert");
}
