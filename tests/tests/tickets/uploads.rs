//! Article attachments in JSON (base64) and multipart, stored and served byte for byte.

use switchboard_e2e::{base64, json, sha256_hex, Backend, Server};

use crate::support::{download, id_of};

pub(crate) async fn attachments(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.create_ticket("Attachment ticket", json!({})).await;
    let tid = id_of(&t);

    // JSON with base64.
    let text = b"Hello attachment\nsecond line\n".to_vec();
    let a1 = server
        .admin_post(
            &format!("/api/v1/tickets/{tid}/articles"),
            &json!({"subject": "log", "body": "see attached", "channel": "email",
                    "sender_type": "agent", "visible_for_customer": false,
                    "attachments": [{"filename": "hello.txt", "content_type": "text/plain",
                                     "content_base64": base64(&text)}]}),
        )
        .await
        .expect(201);
    let att1 = &a1["attachments"][0];
    assert_eq!(att1["filename"], "hello.txt");
    assert_eq!(att1["content_type"], "text/plain");
    assert_eq!(att1["size"], text.len());
    assert_eq!(att1["sha256"], sha256_hex(&text));
    let (bytes, ct) = download(&server, tid, id_of(&a1), att1).await;
    assert_eq!(bytes, text, "downloaded bytes differ from the upload");
    assert!(ct.starts_with("text/plain"), "Content-Type as stored, got {ct:?}");

    // Multipart: JSON part "article" plus two file parts (binary and text).
    let blob: Vec<u8> = (0..10_240u32).map(|i| (i * 7 % 256) as u8).collect();
    let notes = "Ünïcødé notes ✓\n".as_bytes().to_vec();
    let form = reqwest::multipart::Form::new()
        .part(
            "article",
            reqwest::multipart::Part::text(
                json!({"subject": "multipart", "body": "two files", "channel": "note",
                       "sender_type": "agent", "visible_for_customer": false})
                .to_string(),
            )
            .mime_str("application/json")
            .expect("mime"),
        )
        .part(
            "file1",
            reqwest::multipart::Part::bytes(blob.clone()).file_name("blob.bin").mime_str("application/octet-stream").expect("mime"),
        )
        .part(
            "file2",
            reqwest::multipart::Part::bytes(notes.clone()).file_name("notes.txt").mime_str("text/plain; charset=utf-8").expect("mime"),
        );
    let req =
        server.client().post(server.url(&format!("/api/v1/tickets/{tid}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let a2 = server.send(req, "multipart POST articles").await.expect(201);
    assert_eq!(a2["subject"], "multipart");
    assert_eq!(a2["body"], "two files");
    let atts = a2["attachments"].as_array().expect("attachments array").clone();
    assert_eq!(atts.len(), 2, "multipart with two file parts: {a2}");
    let blob_att = atts.iter().find(|x| x["filename"] == "blob.bin").expect("blob.bin attachment");
    let notes_att = atts.iter().find(|x| x["filename"] == "notes.txt").expect("notes.txt attachment");
    assert_eq!(blob_att["size"], blob.len());
    assert_eq!(blob_att["sha256"], sha256_hex(&blob));
    assert_eq!(blob_att["content_type"], "application/octet-stream");
    assert_eq!(notes_att["sha256"], sha256_hex(&notes));
    let (bytes, ct) = download(&server, tid, id_of(&a2), blob_att).await;
    assert_eq!(bytes, blob, "multipart binary attachment corrupted");
    assert!(ct.starts_with("application/octet-stream"), "got {ct:?}");
    let (bytes, ct) = download(&server, tid, id_of(&a2), notes_att).await;
    assert_eq!(bytes, notes, "multipart text attachment corrupted");
    assert!(ct.starts_with("text/plain"), "got {ct:?}");

    // The same bytes again (JSON this time, on another ticket): same hash,
    // stored once, both downloads identical.
    let t2 = server.create_ticket("Second attachment ticket", json!({})).await;
    let tid2 = id_of(&t2);
    let a3 = server
        .admin_post(
            &format!("/api/v1/tickets/{tid2}/articles"),
            &json!({"body": "same blob again",
                    "attachments": [{"filename": "copy.bin", "content_type": "application/x-thing",
                                     "content_base64": base64(&blob)}]}),
        )
        .await
        .expect(201);
    let copy = &a3["attachments"][0];
    assert_eq!(copy["sha256"], blob_att["sha256"], "same bytes must give the same sha256");
    assert_eq!(copy["filename"], "copy.bin");
    let (bytes, ct) = download(&server, tid2, id_of(&a3), copy).await;
    assert_eq!(bytes, blob);
    assert!(ct.starts_with("application/x-thing"), "per-attachment content type, got {ct:?}");
    let (bytes, _) = download(&server, tid, id_of(&a2), blob_att).await;
    assert_eq!(bytes, blob, "first copy changed after the second upload");
    // Contents are rows keyed by hash: four attachments, three distinct contents.
    let attachments = server.sql_i64("SELECT COUNT(*) FROM article_attachments").await;
    let contents = server.sql_i64("SELECT COUNT(*) FROM attachment_contents").await;
    assert_eq!((attachments, contents), (4, 3), "identical attachment content must be stored once (attachments, content rows)");
    let blob_rows = server
        .sql_i64(&format!("SELECT COUNT(*) FROM attachment_contents WHERE sha256 = '{}' AND size = {}", sha256_hex(&blob), blob.len()))
        .await;
    assert_eq!(blob_rows, 1, "the shared content is the row of its sha256");

    // Articles list carries attachment metadata.
    let list = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["attachments"].as_array().map(Vec::len), Some(2));

    // A few megabytes of pseudo-random binary data round-trip unchanged.
    let mut x: u32 = 0x1234_5678;
    let big: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    let form = reqwest::multipart::Form::new()
        .part("article", reqwest::multipart::Part::text(r#"{"body":"big one"}"#).mime_str("application/json").expect("mime"))
        .part(
            "file",
            reqwest::multipart::Part::bytes(big.clone()).file_name("big.bin").mime_str("application/octet-stream").expect("mime"),
        );
    let req =
        server.client().post(server.url(&format!("/api/v1/tickets/{tid2}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let a4 = server.send(req, "multipart 3 MiB").await.expect(201);
    assert_eq!(a4["attachments"][0]["size"], big.len());
    assert_eq!(a4["attachments"][0]["sha256"], sha256_hex(&big));
    let (bytes, _) = download(&server, tid2, id_of(&a4), &a4["attachments"][0]).await;
    assert!(bytes == big, "3 MiB attachment corrupted (got {} bytes)", bytes.len());

    // An attachment id from another article is not served under this one.
    let r = server.admin_get(&format!("/api/v1/tickets/{tid}/articles/{}/attachments/{}", id_of(&a1), id_of(blob_att))).await;
    assert_eq!(r.status, 404, "attachment of another article must be 404");
}
