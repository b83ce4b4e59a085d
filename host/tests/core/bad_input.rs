//! Bad input reaching the core without HTTP (as from a plugin or the CLI):
//! refused alike on both backends with the field named, never a storage error.

use switchboard::desk::{Actor, NewArticle, TicketQuery};

use crate::common::each_backend;
use crate::ticket;

#[tokio::test]
async fn an_article_of_a_million_distinct_words_is_indexed_in_part() {
    each_backend(|db| async move {
        let desk = &db.desk;
        let words: String = (0..150_000u32).map(|n| format!("w{n:x}x ")).collect();
        let mut big = ticket("haystack");
        big.article.body = format!("needle {words}");
        let created = desk.ticket_create(&Actor::System, big).await.unwrap_or_else(|e| panic!("{}: big create: {e}", db.name));
        for _ in 0..4 {
            let more = NewArticle { body: (150_000..250_000u32).map(|n| format!("w{n:x}y ")).collect(), ..Default::default() };
            desk.article_add(&Actor::System, created.ticket.id, more).await.unwrap_or_else(|e| panic!("{}: big article: {e}", db.name));
        }
        for q in ["needle", "w0x", "haystack"] {
            let page =
                desk.ticket_search(&Actor::System, TicketQuery { text: Some(q.into()), ..Default::default() }).await.expect("search");
            assert_eq!(page.items.len(), 1, "{}: q={q} must find the big ticket", db.name);
        }
        db
    })
    .await;
}
