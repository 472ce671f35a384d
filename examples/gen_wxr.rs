//! Writes a synthetic WordPress export (WXR 1.2, laid out like
//! `wp-admin/includes/export.php`) of about the given size, for measuring
//! the import: posts with content and post meta, and comments with
//! realistic lengths, replies, statuses, pingbacks, author replies,
//! non-ASCII text, entity-encoded names and the `]]>` split.
//!
//! ```text
//! cargo run --release --example gen_wxr -- 200 /tmp/wxr-200mb.xml
//! ```
//!
//! The output is the same for the same size (a fixed pseudo-random seed).

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(10_000) < percent * 100
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "grief",
    "trust",
    "mother",
    "father",
    "loss",
    "slowly",
    "remember",
    "kitchen",
    "morning",
    "evening",
    "therapy",
    "session",
    "anger",
    "quiet",
    "letter",
    "hospital",
    "winter",
    "spring",
    "garden",
    "photo",
    "voice",
    "empty",
    "chair",
    "table",
    "breathe",
    "walk",
    "friend",
    "sister",
    "brother",
    "years",
    "still",
    "again",
    "never",
    "always",
    "sometimes",
    "thank",
    "you",
    "this",
    "that",
    "helped",
    "me",
    "we",
    "they",
    "after",
    "before",
    "funeral",
    "birthday",
    "holiday",
    "phone",
    "call",
    "cried",
    "laughed",
    "wrote",
    "read",
    "your",
    "post",
    "about",
    "the",
    "a",
    "and",
    "but",
    "because",
    "when",
    "it",
    "is",
    "was",
    "feel",
    "felt",
    "body",
    "heart",
    "sleep",
    "dream",
    "work",
    "children",
    "school",
    "dog",
    "cat",
    "rain",
    "sun",
    "café",
    "naïve",
    "déjà",
    "Ärger",
    "über",
    "señora",
    "ça",
    "grâce",
    "любовь",
    "печаль",
    "悲しみ",
    "信任",
    "家族",
    "حزن",
    "ثقة",
    "אהבה",
    "זיכרון",
    "😢",
    "❤️",
    "🙏",
];

const NAMES: &[&str] = &[
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Ella",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lea",
    "María José",
    "Noor",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
    "Uma",
    "Viktor",
    "Wen",
    "Yara",
    "Zoë",
    "李娜",
    "أحمد",
    "Tom &amp; Jerry",
    "O&#039;Brien",
];

/// A paragraph of `words` words, with an occasional link or entity.
fn paragraph(rng: &mut Rng, words: usize, out: &mut String) {
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(WORDS));
    }
    if rng.chance(5) {
        out.push_str(" <a href=\"https://example.org/read?x=1&amp;y=2\">this</a>");
    }
    out.push('.');
}

/// Comment text: 1 to 4 paragraphs, 8 to 60 words each (some 100 to
/// 1500 bytes), `]]>` split the way WordPress writes it once in a while.
fn comment_text(rng: &mut Rng) -> String {
    let mut text = String::new();
    for p in 0..=rng.below(4) {
        if p > 0 {
            text.push_str("\n\n");
        }
        let words = 8 + rng.below(52) as usize;
        paragraph(rng, words, &mut text);
    }
    if rng.chance(1) {
        text.push_str(" code: a[b[0]]]]><![CDATA[> c");
    }
    text
}

fn datetime(seconds: u64) -> String {
    // Days to civil date (Howard Hinnant's algorithm), 1970-based.
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

struct Counts {
    posts: u64,
    comments: u64,
}

fn write_post(
    out: &mut impl Write,
    rng: &mut Rng,
    post: u64,
    next_comment: &mut u64,
    counts: &mut Counts,
) -> io::Result<()> {
    let published = 1_300_000_000 + post * 86_400;
    let date = datetime(published + 7200);
    let gmt = datetime(published);
    let slug = format!("post-{post}");
    let mut content = String::new();
    for _ in 0..3 + rng.below(6) {
        content.push_str("<!-- wp:paragraph -->\n<p>");
        let words = 60 + rng.below(80) as usize;
        paragraph(rng, words, &mut content);
        content.push_str("</p>\n<!-- /wp:paragraph -->\n\n");
    }
    write!(
        out,
        "\t<item>\n\t\t<title>\n\t\tOn {} number {post}\t\t</title>\n\
         \t\t<link>https://blog.example/2011/03/{slug}/</link>\n\
         \t\t<pubDate>Mon, 14 Mar 2011 09:00:00 +0000</pubDate>\n\
         \t\t<dc:creator><![CDATA[mara]]></dc:creator>\n\
         \t\t<guid isPermaLink=\"false\">https://blog.example/?p={post}</guid>\n\
         \t\t<description></description>\n\
         \t\t<content:encoded>\n\t\t<![CDATA[{content}]]>\t\t</content:encoded>\n\
         \t\t<excerpt:encoded>\n\t\t<![CDATA[]]>\t\t</excerpt:encoded>\n\
         \t\t<wp:post_id>{post}</wp:post_id>\n\
         \t\t<wp:post_date><![CDATA[{date}]]></wp:post_date>\n\
         \t\t<wp:post_date_gmt><![CDATA[{gmt}]]></wp:post_date_gmt>\n\
         \t\t<wp:comment_status><![CDATA[open]]></wp:comment_status>\n\
         \t\t<wp:ping_status><![CDATA[open]]></wp:ping_status>\n\
         \t\t<wp:post_name><![CDATA[{slug}]]></wp:post_name>\n\
         \t\t<wp:status><![CDATA[publish]]></wp:status>\n\
         \t\t<wp:post_parent>0</wp:post_parent>\n\
         \t\t<wp:menu_order>0</wp:menu_order>\n\
         \t\t<wp:post_type><![CDATA[post]]></wp:post_type>\n\
         \t\t<wp:post_password><![CDATA[]]></wp:post_password>\n\
         \t\t<wp:is_sticky>0</wp:is_sticky>\n\
         \t\t<category domain=\"category\" nicename=\"grief\"><![CDATA[Grief]]></category>\n\
         \t\t<wp:postmeta>\n\t\t<wp:meta_key><![CDATA[_edit_last]]></wp:meta_key>\n\
         \t\t<wp:meta_value><![CDATA[1]]></wp:meta_value>\n\t\t</wp:postmeta>\n",
        rng.pick(WORDS)
    )?;
    counts.posts += 1;
    // Most posts have a few comments, some many (a long tail).
    let n = match rng.below(100) {
        0..=29 => rng.below(5),
        30..=89 => 5 + rng.below(40),
        _ => 45 + rng.below(300),
    };
    let first = *next_comment;
    let mut time = published + 3600;
    for _ in 0..n {
        let id = *next_comment;
        *next_comment += 1;
        time += 60 + rng.below(86_400);
        let parent = if id > first && rng.chance(35) {
            first + rng.below(id - first)
        } else {
            0
        };
        let by_author = rng.chance(5);
        let kind = match rng.below(1000) {
            0..=19 => "pingback",
            20..=24 => "trackback",
            _ => "comment",
        };
        let approved = match rng.below(100) {
            0..=87 => "1",
            88..=94 => "0",
            95..=97 => "trash",
            _ => "spam",
        };
        let (name, user) = if by_author {
            ("Mara Lind", 1)
        } else {
            (rng.pick(NAMES), 0)
        };
        let email = format!("reader{}@example.org", rng.below(50_000));
        write!(
            out,
            "\t\t<wp:comment>\n\
             \t\t\t<wp:comment_id>{id}</wp:comment_id>\n\
             \t\t\t<wp:comment_author><![CDATA[{name}]]></wp:comment_author>\n\
             \t\t\t<wp:comment_author_email><![CDATA[{email}]]></wp:comment_author_email>\n\
             \t\t\t<wp:comment_author_url>https://reader{}.example/</wp:comment_author_url>\n\
             \t\t\t<wp:comment_author_IP><![CDATA[203.0.113.{}]]></wp:comment_author_IP>\n\
             \t\t\t<wp:comment_date><![CDATA[{}]]></wp:comment_date>\n\
             \t\t\t<wp:comment_date_gmt><![CDATA[{}]]></wp:comment_date_gmt>\n\
             \t\t\t<wp:comment_content><![CDATA[{}]]></wp:comment_content>\n\
             \t\t\t<wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>\n\
             \t\t\t<wp:comment_type><![CDATA[{kind}]]></wp:comment_type>\n\
             \t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n\
             \t\t\t<wp:comment_user_id>{user}</wp:comment_user_id>\n",
            rng.below(1000),
            rng.below(256),
            datetime(time + 7200),
            datetime(time),
            comment_text(rng),
        )?;
        if rng.chance(30) {
            write!(
                out,
                "\t<wp:commentmeta>\n\t<wp:meta_key><![CDATA[akismet_result]]></wp:meta_key>\n\
                 \t\t\t<wp:meta_value><![CDATA[false]]></wp:meta_value>\n\t\t\t</wp:commentmeta>\n"
            )?;
        }
        out.write_all(b"\t\t</wp:comment>\n")?;
        counts.comments += 1;
    }
    out.write_all(b"\t\t</item>\n\t")
}

/// Counts what passes through, to stop at the size asked for.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let megabytes: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: gen_wxr MEGABYTES [OUTPUT]   (stdout without OUTPUT)");
        std::process::exit(2)
    });
    let sink: Box<dyn Write> = match args.next() {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = Counting {
        inner: BufWriter::with_capacity(1 << 20, sink),
        bytes: 0,
    };
    out.write_all(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
          <!-- This is a WordPress eXtended RSS file generated by WordPress as an export of your site. -->\n\
          <!-- generator=\"WordPress/6.4.3\" created=\"2024-02-10 09:12\" -->\n\
          <rss version=\"2.0\"\n\
          \txmlns:excerpt=\"http://wordpress.org/export/1.2/excerpt/\"\n\
          \txmlns:content=\"http://purl.org/rss/1.0/modules/content/\"\n\
          \txmlns:wfw=\"http://wellformedweb.org/CommentAPI/\"\n\
          \txmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
          \txmlns:wp=\"http://wordpress.org/export/1.2/\"\n>\n\n<channel>\n\
          \t<title>Grief &amp; Trust</title>\n\t<link>https://blog.example</link>\n\
          \t<description>Synthetic export</description>\n\
          \t<pubDate>Sat, 10 Feb 2024 09:12:44 +0000</pubDate>\n\t<language>en-GB</language>\n\
          \t<wp:wxr_version>1.2</wp:wxr_version>\n\
          \t<wp:base_site_url>https://blog.example</wp:base_site_url>\n\
          \t<wp:base_blog_url>https://blog.example</wp:base_blog_url>\n\n\
          \t<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[mara]]></wp:author_login>\
          <wp:author_email><![CDATA[mara@blog.example]]></wp:author_email>\
          <wp:author_display_name><![CDATA[Mara Lind]]></wp:author_display_name>\
          <wp:author_first_name><![CDATA[Mara]]></wp:author_first_name>\
          <wp:author_last_name><![CDATA[Lind]]></wp:author_last_name></wp:author>\n\n\t",
    )?;
    let (mut rng, mut next_comment) = (Rng(0x9E37_79B9_7F4A_7C15), 1);
    let mut counts = Counts {
        posts: 0,
        comments: 0,
    };
    let target = megabytes * 1024 * 1024;
    while out.bytes < target {
        write_post(
            &mut out,
            &mut rng,
            counts.posts + 1,
            &mut next_comment,
            &mut counts,
        )?;
    }
    out.write_all(b"\n</channel>\n</rss>\n")?;
    out.flush()?;
    eprintln!(
        "wrote {} bytes: {} posts, {} comments (pingbacks and trackbacks included)",
        out.bytes, counts.posts, counts.comments
    );
    Ok(())
}
