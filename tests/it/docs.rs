//! The README's TOML blocks are real configuration: each is completed into a pipeline (the
//! first block's `[model]`, a stream) and checked by `actiond validate`, so a renamed or removed
//! key breaks this test instead of misleading a reader.

use crate::util::*;

/// The ```toml blocks of the README, in order.
fn readme_toml_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Relative paths in the README are relative to `pipelines/`, as in the shipped files.
fn absolute(model: &mut toml::Table) {
    for key in ["path", "encoder", "head", "labels"] {
        if let Some(toml::Value::String(file)) = model.get(key) {
            let resolved = root().join("pipelines").join(file).to_string_lossy().into_owned();
            model.insert(key.into(), toml::Value::String(resolved));
        }
    }
}

#[test]
fn every_toml_block_of_the_readme_validates() {
    let blocks = readme_toml_blocks();
    assert!(blocks.len() >= 4, "found {} TOML blocks", blocks.len());
    let first: toml::Table = blocks[0].parse().unwrap();
    assert!(first.contains_key("model"), "the first block is a whole pipeline");
    let dir = tempdir();
    let video = dir.path().join("video.mp4");
    std::fs::write(&video, b"validate only checks that a local input exists").unwrap();
    for (n, block) in blocks.iter().enumerate() {
        let mut doc: toml::Table = block.parse().unwrap_or_else(|e| panic!("README block {n}: {e}\n{block}"));
        let mut model = doc.get("model").or_else(|| first.get("model")).unwrap().as_table().unwrap().clone();
        absolute(&mut model);
        doc.insert("model".into(), toml::Value::Table(model));
        let streams = doc.entry("streams").or_insert_with(|| {
            toml::Value::Array(vec![toml::Value::Table(toml::Table::from_iter([(
                "id".to_owned(),
                toml::Value::String("s".into()),
            )]))])
        });
        for stream in streams.as_array_mut().unwrap() {
            let stream = stream.as_table_mut().unwrap();
            let network = stream.get("uri").and_then(|u| u.as_str()).is_some_and(|u| u.contains("://"));
            if !network {
                stream.insert("uri".into(), toml::Value::String(video.to_string_lossy().into_owned()));
            }
        }
        let path = write_pipeline(dir.path(), &format!("readme-{n}.toml"), &toml::to_string(&doc).unwrap());
        let out = actiond_with_env(&["validate", path.to_str().unwrap()], &[("GATE_PASSWORD", "x")]);
        assert!(out.status.success(), "README block {n} does not validate: {}\n{block}", stderr(&out));
    }
}
