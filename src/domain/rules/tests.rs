//! Unit tests for each rule kind, thresholds and load errors. Every case is
//! built from a one-rule file so a failure points at the kind that broke.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// Builds a rule set from one in-memory file named `test.toml`.
fn rules(toml: &str) -> Result<RuleSet, Error> {
    RuleSet::from_sources(
        Path::new("."),
        &[(PathBuf::from("test.toml"), toml.to_owned())],
    )
}

fn one_rule(kind_and_keys: &str) -> RuleSet {
    let toml = format!(
        "[thresholds]\nhold = 1\nspam = 100\n[[rule]]\nname = \"r\"\nscore = 1\n{kind_and_keys}\n"
    );
    rules(&toml).unwrap_or_else(|e| panic!("rule should load: {e}\n{toml}"))
}

fn offline<'a>(author: &'a str, email: &'a str, url: &'a str, comment: &'a str) -> Subject<'a> {
    Subject {
        author,
        email,
        url,
        comment,
        page: "/p/",
        request: None,
    }
}

fn hits(set: &RuleSet, s: &Subject<'_>) -> bool {
    !set.evaluate(s).hits.is_empty()
}

/// `(case, rule keys, comment, should hit)` over the comment field only.
fn table(cases: &[(&str, &str, &str, bool)]) {
    for (case, keys, comment, want) in cases {
        let set = one_rule(keys);
        assert_eq!(
            hits(&set, &offline("", "", "", comment)),
            *want,
            "case: {case}"
        );
    }
}

#[test]
fn regex_rules_match_normalized_text_of_their_fields() {
    table(&[
        (
            "plain",
            "kind = \"regex\"\npattern = 'buy now'",
            "Please BUY   now!",
            true,
        ),
        (
            "entity evasion",
            "kind = \"regex\"\npattern = 'viagra'",
            "v&#105;agra",
            true,
        ),
        (
            "no match",
            "kind = \"regex\"\npattern = 'viagra'",
            "my doctor",
            false,
        ),
        (
            "one of patterns",
            "kind = \"regex\"\npatterns = ['aaa', 'bbb']",
            "x bbb",
            true,
        ),
    ]);
    let set = one_rule("kind = \"regex\"\npattern = 'seo'\nfields = [\"author\"]");
    assert!(
        hits(&set, &offline("SEO Agency", "", "", "hello")),
        "author field"
    );
    assert!(
        !hits(&set, &offline("Ann", "", "", "seo")),
        "comment not watched"
    );
    let all = one_rule("kind = \"regex\"\npattern = 'spam\\.example'\nfields = [\"all\"]");
    assert!(
        hits(&all, &offline("", "a@spam.example", "", "")),
        "all includes email"
    );
}

#[test]
fn words_rules_match_whole_words_case_insensitively() {
    let keys = "kind = \"words\"\nwords = [\"Viagra\", \"online casino\", \"$$$\"]";
    table(&[
        ("word", keys, "cheap VIAGRA here", true),
        ("look-alike", keys, "ⅴiаgrа", true),
        ("phrase across spaces", keys, "best online\n  casino", true),
        ("inside another word", keys, "viagras", false),
        ("prefix of word", keys, "xviagra", false),
        ("symbol entry", keys, "win $$$ now", true),
        ("absent", keys, "my sertraline dose", false),
    ]);
}

#[test]
fn words_rules_read_list_files_next_to_the_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.txt"),
        "# pharma\nkamagra\n\npriligy  # brand\n",
    )
    .expect("write list");
    std::fs::write(
        dir.path().join("a.toml"),
        "[[rule]]\nname = \"w\"\nkind = \"words\"\nfile = \"bad.txt\"\nscore = 5\n",
    )
    .expect("write rules");
    let set = RuleSet::load_dir(dir.path()).expect("loads");
    assert_eq!(
        set.evaluate(&offline("", "", "", "buy Priligy")).score,
        5,
        "listed word"
    );
    assert_eq!(
        set.evaluate(&offline("", "", "", "pharma")).score,
        0,
        "comment ignored"
    );
}

#[test]
fn links_rules_count_distinct_links_and_optionally_the_website() {
    let keys = "kind = \"links\"\nmax = 1";
    table(&[
        ("one link", keys, "see https://a.example.com", false),
        (
            "two links",
            keys,
            "https://a.example.com and www.b.example.org",
            true,
        ),
        (
            "same link twice",
            keys,
            "<a href=\"http://a.com/x\">http://a.com/x</a>",
            false,
        ),
        (
            "bbcode and bare domain",
            keys,
            "[url=http://a.com]x[/url] bit.ly/zz",
            true,
        ),
        (
            "email is not a link",
            keys,
            "mail me at a@b.com or c@d.com",
            false,
        ),
    ]);
    let set = one_rule("kind = \"links\"\nmax = 1\nurl_field = true");
    assert!(
        hits(
            &set,
            &offline("", "", "https://me.example", "see https://a.example.com")
        ),
        "website counted"
    );
}

#[test]
fn link_only_rules_need_a_link_and_almost_no_words() {
    let keys = "kind = \"link_only\"\nmax_words = 2";
    table(&[
        ("bare link", keys, "https://bit.ly/3xYz", true),
        (
            "anchor tag",
            keys,
            "<a href=\"http://x.com\">http://x.com</a>",
            true,
        ),
        ("link and two words", keys, "great site http://x.com", true),
        (
            "link in a sentence",
            keys,
            "the NHS page https://nhs.uk helped me a lot",
            false,
        ),
        ("no link", keys, "hi", false),
    ]);
}

#[test]
fn domains_rules_block_subdomains_website_and_email() {
    let keys = "kind = \"domains\"\ndomains = [\"casino.com\"]\nfields = [\"comment\", \"url\", \"email\"]";
    let set = one_rule(keys);
    let cases = [
        (
            "link",
            offline("", "", "", "see https://casino.com/x"),
            true,
        ),
        ("subdomain", offline("", "", "", "www.eu.casino.com"), true),
        (
            "lookalike name",
            offline("", "", "", "notcasino.com"),
            false,
        ),
        (
            "website field",
            offline("", "", "http://win.casino.com/", "hi"),
            true,
        ),
        ("email domain", offline("", "x@casino.com", "", "hi"), true),
        (
            "clean",
            offline("", "x@mail.com", "https://blog.example", "hi"),
            false,
        ),
    ];
    for (case, s, want) in cases {
        assert_eq!(hits(&set, &s), want, "case: {case}");
    }
}

#[test]
fn caps_rules_need_enough_letters_and_share() {
    let keys = "kind = \"caps\"\nratio = 0.7\nmin_letters = 10";
    table(&[
        ("shouting", keys, "BUY THIS NOW PLEASE", true),
        ("too short", keys, "OMG YES", false),
        ("normal case", keys, "Buy this now please", false),
        (
            "entities do not count",
            keys,
            "HELLO THERE &quot;&quot;&quot;&quot;",
            true,
        ),
    ]);
}

#[test]
fn script_rules_flag_mostly_foreign_letters() {
    let keys = "kind = \"script\"\nallowed = [\"latin\"]\nratio = 0.5\nmin_letters = 10";
    table(&[
        (
            "russian",
            keys,
            "Отличная статья, заходите на наш сайт",
            true,
        ),
        ("chinese", keys, "专业代写论文价格优惠质量保证", true),
        (
            "english with a chinese phrase",
            keys,
            "My mother passed away and 我很想她, it still hurts so much",
            false,
        ),
        ("too few letters", keys, "Привет", false),
    ]);
    assert!(
        rules("[[rule]]\nname = \"s\"\nkind = \"script\"\nallowed = [\"klingon\"]\nscore = 1")
            .is_err()
    );
}

/// Request-based kinds: one table over the request facts.
#[test]
fn request_rules_use_request_facts_and_are_skipped_offline() {
    let fields: BTreeMap<String, String> = [("website2".to_owned(), "http://x".to_owned())].into();
    let empty: BTreeMap<String, String> = [("website2".to_owned(), " ".to_owned())].into();
    let ip: IpAddr = "203.0.113.9".parse().expect("ip");
    let base = RequestFacts {
        ip: None,
        fields: &empty,
        form_token: TokenCheck::Valid {
            age: Duration::from_secs(60),
        },
        history: History::default(),
        last_seen_same_text: None,
    };
    let honeypot = "kind = \"honeypot\"\nfield = \"website2\"";
    let min_time = "kind = \"min_time\"\nseconds = 3\nmax_age_hours = 1";
    let lenient = "kind = \"min_time\"\nseconds = 3\nmax_age_hours = 1\nmissing = false";
    let duplicate = "kind = \"duplicate\"\nhours = 2";
    let approved = "kind = \"history\"\nwhen = \"approved\"";
    let spam = "kind = \"history\"\nwhen = \"spam\"\nmin = 2";
    let ip_rule = "kind = \"ip\"\ncidrs = [\"203.0.113.0/24\", \"2001:db8::1\"]";
    let age = |s| TokenCheck::Valid {
        age: Duration::from_secs(s),
    };
    let seen = |s| Some(Duration::from_secs(s));
    let history = |approved, spam| History { approved, spam };
    let cases: Vec<(&str, &str, RequestFacts<'_>, bool)> = vec![
        (
            "honeypot filled",
            honeypot,
            RequestFacts {
                fields: &fields,
                ..base
            },
            true,
        ),
        ("honeypot blank", honeypot, base, false),
        ("token valid", min_time, base, false),
        (
            "token too young",
            min_time,
            RequestFacts {
                form_token: age(1),
                ..base
            },
            true,
        ),
        (
            "token expired",
            min_time,
            RequestFacts {
                form_token: age(7200),
                ..base
            },
            true,
        ),
        (
            "token invalid",
            min_time,
            RequestFacts {
                form_token: TokenCheck::Invalid,
                ..base
            },
            true,
        ),
        (
            "token missing",
            min_time,
            RequestFacts {
                form_token: TokenCheck::Missing,
                ..base
            },
            true,
        ),
        (
            "missing allowed",
            lenient,
            RequestFacts {
                form_token: TokenCheck::Missing,
                ..base
            },
            false,
        ),
        (
            "duplicate recent",
            duplicate,
            RequestFacts {
                last_seen_same_text: seen(600),
                ..base
            },
            true,
        ),
        (
            "duplicate old",
            duplicate,
            RequestFacts {
                last_seen_same_text: seen(3 * 3600),
                ..base
            },
            false,
        ),
        ("never seen", duplicate, base, false),
        (
            "approved before",
            approved,
            RequestFacts {
                history: history(1, 0),
                ..base
            },
            true,
        ),
        ("new reader", approved, base, false),
        (
            "spam twice",
            spam,
            RequestFacts {
                history: history(0, 2),
                ..base
            },
            true,
        ),
        (
            "spam once, min 2",
            spam,
            RequestFacts {
                history: history(0, 1),
                ..base
            },
            false,
        ),
        (
            "ip in network",
            ip_rule,
            RequestFacts {
                ip: Some(ip),
                ..base
            },
            true,
        ),
        (
            "ipv6 host",
            ip_rule,
            RequestFacts {
                ip: "2001:db8::1".parse().ok(),
                ..base
            },
            true,
        ),
        (
            "ip elsewhere",
            ip_rule,
            RequestFacts {
                ip: "198.51.100.1".parse().ok(),
                ..base
            },
            false,
        ),
        ("no ip", ip_rule, base, false),
    ];
    for (case, keys, facts, want) in cases {
        let set = one_rule(keys);
        let mut s = offline("", "", "", "hello");
        s.request = Some(facts);
        assert_eq!(hits(&set, &s), want, "case: {case}");
        assert!(
            !hits(&set, &offline("", "", "", "hello")),
            "offline skips: {case}"
        );
        assert_eq!(
            set.request_rules(),
            vec!["r"],
            "listed as needing a request: {case}"
        );
    }
}

#[test]
fn scores_sum_and_thresholds_choose_the_action() {
    let set = rules(
        "[thresholds]\nhold = 3\nspam = 6\n\
         [[rule]]\nname = \"a\"\nkind = \"words\"\nwords = [\"aa\"]\nscore = 3\n\
         [[rule]]\nname = \"b\"\nkind = \"words\"\nwords = [\"bb\"]\nscore = 3\n\
         [[rule]]\nname = \"good\"\nkind = \"words\"\nwords = [\"cc\"]\nscore = -4\n\
         [[rule]]\nname = \"off\"\nkind = \"words\"\nwords = [\"aa\"]\nscore = 50\nenabled = false\n",
    )
    .expect("loads");
    let cases = [
        ("nothing", "hello", 0, Action::Accept),
        ("one", "aa", 3, Action::Hold),
        ("two", "aa bb", 6, Action::Spam),
        ("negative", "aa bb cc", 2, Action::Accept),
    ];
    for (case, comment, score, action) in cases {
        let v = set.evaluate(&offline("", "", "", comment));
        assert_eq!((v.score, v.action), (score, action), "case: {case}");
    }
    let v = set.evaluate(&offline("", "", "", "aa"));
    assert_eq!(v.hits, vec![Hit::new("a", 3)], "disabled rule never hits");
}

#[test]
fn later_files_override_thresholds() {
    let set = RuleSet::from_sources(
        Path::new("."),
        &[
            (
                PathBuf::from("a.toml"),
                "[thresholds]\nhold = 4\nspam = 9\n".into(),
            ),
            (PathBuf::from("b.toml"), "[thresholds]\nspam = 20\n".into()),
        ],
    )
    .expect("loads");
    assert_eq!(set.thresholds(), Thresholds { hold: 4, spam: 20 });
}

#[test]
fn load_errors_name_the_file_the_rule_and_the_problem() {
    let cases = [
        (
            "bad regex",
            "[[rule]]\nname = \"broken\"\nkind = \"regex\"\npattern = '(unclosed'\nscore = 1",
            "rule `broken`",
            "bad pattern",
        ),
        (
            "unknown kind",
            "[[rule]]\nname = \"k\"\nkind = \"magic\"\nscore = 1",
            "rule `k`",
            "unknown kind `magic`",
        ),
        (
            "missing score",
            "[[rule]]\nname = \"s\"\nkind = \"links\"\nmax = 1",
            "rule `s`",
            "missing key `score`",
        ),
        (
            "missing kind key",
            "[[rule]]\nname = \"m\"\nkind = \"links\"\nscore = 1",
            "rule `m`",
            "max",
        ),
        (
            "missing name",
            "[[rule]]\nkind = \"links\"\nmax = 1\nscore = 1",
            "rule `#1`",
            "missing key `name`",
        ),
        (
            "unknown key",
            "[[rule]]\nname = \"u\"\nkind = \"links\"\nmax = 1\nmaxx = 2\nscore = 1",
            "rule `u`",
            "maxx",
        ),
        (
            "empty words",
            "[[rule]]\nname = \"e\"\nkind = \"words\"\nwords = []\nscore = 1",
            "rule `e`",
            "empty",
        ),
        (
            "bad cidr",
            "[[rule]]\nname = \"i\"\nkind = \"ip\"\ncidrs = [\"10.0.0.0/99\"]\nscore = 1",
            "rule `i`",
            "not an address",
        ),
        (
            "missing list file",
            "[[rule]]\nname = \"f\"\nkind = \"words\"\nfile = \"nope.txt\"\nscore = 1",
            "rule `f`",
            "nope.txt",
        ),
        (
            "bad field",
            "[[rule]]\nname = \"b\"\nkind = \"regex\"\npattern = 'x'\nfields = [\"body\"]\nscore = 1",
            "rule `b`",
            "body",
        ),
        (
            "duplicate name",
            "[[rule]]\nname = \"d\"\nkind = \"links\"\nmax = 1\nscore = 1\n[[rule]]\nname = \"d\"\nkind = \"links\"\nmax = 2\nscore = 1",
            "rule `d`",
            "duplicate name",
        ),
        (
            "learned with a score",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\nscore = 3",
            "rule `l`",
            "`score` is not used",
        ),
        (
            "learned bounds out of order",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\nhold_from = 0.95\nspam_from = 0.9",
            "rule `l`",
            "must rise",
        ),
        (
            "learned probability out of range",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\nspam_from = 1.5",
            "rule `l`",
            "`spam_from` must be between 0 and 1",
        ),
        (
            "learned never lowers an unknown rule",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\nnever_lowers = [\"honeypot\"]",
            "rule `l`",
            "no rule `honeypot`",
        ),
        (
            "two learned rules",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\n[[rule]]\nname = \"m\"\nkind = \"learned\"",
            "rule `m`",
            "only one learned rule",
        ),
        (
            "learned with an unknown key",
            "[[rule]]\nname = \"l\"\nkind = \"learned\"\nspam_at = 0.9",
            "rule `l`",
            "spam_at",
        ),
    ];
    for (case, toml, rule, problem) in cases {
        let err = rules(toml).expect_err(case).to_string();
        assert!(
            err.starts_with("test.toml: "),
            "case {case}: names the file: {err}"
        );
        assert!(err.contains(rule), "case {case}: names the rule: {err}");
        assert!(
            err.contains(problem),
            "case {case}: says what is wrong: {err}"
        );
    }
    let bad_toml = rules("[[rule]\nname = 1")
        .expect_err("invalid toml")
        .to_string();
    assert!(
        bad_toml.starts_with("test.toml: "),
        "invalid toml names the file: {bad_toml}"
    );
    let order = rules("[thresholds]\nhold = 9\nspam = 3")
        .expect_err("hold > spam")
        .to_string();
    assert!(order.contains("hold"), "thresholds: {order}");
}

#[test]
fn load_dir_reads_toml_files_in_name_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        matches!(RuleSet::load_dir(dir.path()), Err(Error::NoRules { .. })),
        "empty dir"
    );
    std::fs::write(dir.path().join("20-local.toml"), "[thresholds]\nhold = 2\n").expect("write");
    std::fs::write(
        dir.path().join("10-base.toml"),
        "[thresholds]\nhold = 7\nspam = 9\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not rules").expect("write");
    let set = RuleSet::load_dir(dir.path()).expect("loads");
    assert_eq!(
        set.thresholds(),
        Thresholds { hold: 2, spam: 9 },
        "20-local applied last"
    );
    assert!(
        set.summary().contains("hold at 2, spam at 9"),
        "summary: {}",
        set.summary()
    );
}

#[test]
fn the_shipped_rules_load_and_spare_hard_hams() {
    let set = RuleSet::load_dir(Path::new("rules")).expect("default rules load");
    let hams = [
        "I started sertraline after my dad died; the first weeks were awful.",
        "My doctor gave me Xanax for panic attacks. Did anyone taper off?",
        "Please call or text 988 if you are in a dark place. https://988lifeline.org",
        "My ex texted me on the anniversary of our son's death.",
        "We took out a loan for mum's funeral and I am drowning in payday loans.",
        "My husband's gambling ruined us, whole nights on casino apps.",
    ];
    for ham in hams {
        let v = set.evaluate(&offline("Reader", "r@example.com", "", ham));
        assert_eq!(v.action, Action::Accept, "ham held: {ham} -> {v:?}");
    }
    let v = set.evaluate(&offline(
        "x",
        "",
        "",
        "ⅴiаgrа and c&#105;alis online, no prescription, http://pills.example.com",
    ));
    assert_ne!(v.action, Action::Accept, "evasive pharma spam: {v:?}");
}

#[test]
fn the_learned_rule_is_left_to_the_moderation_steps() {
    let set = rules(
        "[[rule]]\nname = \"b\"\nkind = \"regex\"\npattern = 'x'\nscore = 1\n\
         [[rule]]\nname = \"l\"\nkind = \"learned\"\nnever_lowers = [\"b\"]\nnudge = 2",
    )
    .expect("loads");
    let (name, spec) = set.learned().expect("a learned rule");
    assert_eq!((name, spec.nudge, spec.relief), ("l", 2, 3));
    assert_eq!(spec.never_lowers, ["b"]);
    // Evaluating runs every other rule and leaves the learned one out.
    let v = set.evaluate(&offline("", "", "", "x"));
    assert_eq!(v.hits, vec![Hit::new("b", 1)]);
    assert!(set.summary().contains("learned"), "{}", set.summary());
    let off = rules("[[rule]]\nname = \"l\"\nkind = \"learned\"\nenabled = false").expect("loads");
    assert!(off.learned().is_none());
}
