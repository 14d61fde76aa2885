//! Embeds actiond as a library: runs a pipeline and prints what happens, one line per event.
//!
//!     cargo run --release --example watch -- pipelines/demo.toml

use actiond::{Event, Pipeline};

fn main() -> Result<(), actiond::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "pipelines/demo.toml".into());
    let (running, events) = Pipeline::from_file(path.as_ref())?.start_with_channel(64)?;
    for event in events {
        match event {
            Event::Window(w) => {
                println!(
                    "{} window {} [{:.2}s, {:.2}s): {} {:.2}",
                    w.stream, w.window, w.start_s, w.end_s, w.label, w.score
                )
            }
            Event::Action(a) => match a.end_s {
                None => println!("{} {} started at {:.2}s", a.stream, a.label, a.start_s),
                Some(end) => {
                    println!("{} {} ended at {end:.2}s (peak {:.2})", a.stream, a.label, a.peak_score)
                }
            },
            Event::Status(s) => println!("{} {}", s.stream, s.kind),
        }
    }
    let report = running.wait()?;
    println!("done: {} windows", report.output.windows);
    Ok(())
}
