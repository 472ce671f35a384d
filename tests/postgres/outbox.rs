//! The outbox shared by replicas: each mail is sent by exactly one replica
//! however many claim at once, and a mail queued on a replica that dies
//! (before sending, or holding the job) is sent by another.

use std::collections::HashMap;
use std::time::Duration;

use moderato::config::{Config, SmtpSecurity};
use moderato::domain::now_millis;
use moderato::domain::outbox::Job;
use moderato::notify::{Outcome, Retry, Worker};

use crate::helpers::comment;
use crate::sinks::{SmtpSink, smtp_sink};
use crate::support::{Replica, postgres_config};

fn mailing(config: &mut Config, sink: &SmtpSink) {
    config.moderation = moderato::config::ModerationMode::All;
    config.public_url = "http://moderato.test".into();
    config.smtp_host = sink.addr.ip().to_string();
    config.smtp_port = sink.addr.port();
    config.smtp_security = SmtpSecurity::None;
    config.smtp_from = "moderato <moderato@blog.test>".into();
    config.smtp_to = "author@blog.test".into();
}

fn worker(replica: &Replica) -> Worker {
    let mut worker = replica
        .notifier
        .worker(
            &replica.state.config,
            replica.state.store().clone(),
            replica.state.privacy().clone(),
            replica.state.moderator.links().clone(),
        )
        .expect("worker builds")
        .expect("mail is on");
    worker.retry = Retry {
        attempts: 3,
        first_delay: Duration::from_millis(20),
    };
    worker
}

/// Which of `texts` the received mails mention, and how often.
fn mentions(sink: &mut SmtpSink, texts: &[String]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    while let Ok(mail) = sink.mails.try_recv() {
        let body = mail.body();
        for text in texts {
            if body.contains(text.as_str()) {
                *seen.entry(text.clone()).or_default() += 1;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_claiming_at_once_send_each_mail_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sink = smtp_sink(0).await;
    let mut config = postgres_config(&dir);
    mailing(&mut config, &sink);
    let (a, b) = (Replica::of(&config), Replica::of(&config));
    let mut texts = Vec::new();
    for i in 0..12 {
        let body = comment("/p/", "Ann", &format!("reader{i}@example.org"));
        texts.push(body["comment"].as_str().expect("text").to_owned());
        let replica = if i % 2 == 0 { &a } else { &b };
        assert_eq!(replica.post_json(&body).await.status(), 201);
    }
    assert_eq!(a.state.store().pending_jobs().await.expect("jobs"), 12);
    let (wa, wb) = (worker(&a), worker(&b));
    let now = now_millis();
    let (da, db) = tokio::join!(wa.deliver_due(now), wb.deliver_due(now));
    let (da, db) = (da.expect("a delivers"), db.expect("b delivers"));
    let sent = |d: &[moderato::notify::Delivery]| {
        d.iter()
            .filter(|d| matches!(d.outcome, Outcome::Sent { .. }))
            .count()
    };
    assert_eq!(
        sent(&da) + sent(&db),
        12,
        "a sent {}, b {}",
        sent(&da),
        sent(&db)
    );
    assert_eq!(a.state.store().pending_jobs().await.expect("jobs"), 0);
    // Give the sink a moment to pass on the last message.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = mentions(&mut sink, &texts);
    for text in &texts {
        assert_eq!(seen.get(text), Some(&1), "mails about `{text}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_queued_on_a_replica_that_died_is_sent_by_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sink = smtp_sink(0).await;
    let mut config = postgres_config(&dir);
    mailing(&mut config, &sink);
    let survivor = Replica::of(&config);

    // Died before its worker ran: the job waits in the database.
    let first = comment("/p/", "Ann", "ann@example.org");
    let first_text = first["comment"].as_str().expect("text").to_owned();
    {
        let doomed = Replica::of(&config);
        assert_eq!(doomed.post_json(&first).await.status(), 201);
    }
    // Died while holding a job (it claimed the oldest, the first comment's):
    // its lease keeps the others off until it ends.
    let second = comment("/p/", "Bo", "bo@example.org");
    let second_text = second["comment"].as_str().expect("text").to_owned();
    let lease_ms = 120_000;
    let held_text = {
        let doomed = Replica::of(&config);
        assert_eq!(doomed.post_json(&second).await.status(), 201);
        let held = doomed
            .state
            .store()
            .claim_jobs(now_millis(), lease_ms, 1)
            .await
            .expect("claim");
        assert_eq!(held.len(), 1);
        let Job::AuthorMail { comment, .. } = held[0].job else {
            panic!("a mail job: {:?}", held[0].job);
        };
        let held = doomed.state.store().get(comment).await.expect("get");
        held.expect("the comment").text
    };
    let free_text = if held_text == first_text {
        second_text.clone()
    } else {
        first_text.clone()
    };
    let texts = [first_text, second_text];

    let worker = worker(&survivor);
    let now = now_millis();
    let delivered = worker.deliver_due(now).await.expect("deliver");
    assert_eq!(
        delivered.len(),
        1,
        "only the unleased job is due: {delivered:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = mentions(&mut sink, &texts);
    assert_eq!(seen.get(&free_text), Some(&1));
    assert_eq!(seen.get(&held_text), None, "sent while its lease held");

    // Once the dead replica's lease has ended, the survivor sends it.
    let later = worker
        .deliver_due(now + lease_ms + 1)
        .await
        .expect("deliver");
    assert_eq!(later.len(), 1);
    assert!(matches!(later[0].outcome, Outcome::Sent { .. }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = mentions(&mut sink, &texts);
    assert_eq!(seen.get(&held_text), Some(&1));
    assert_eq!(seen.get(&free_text), None, "sent twice");
    assert_eq!(
        survivor.state.store().pending_jobs().await.expect("jobs"),
        0
    );
}
