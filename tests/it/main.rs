//! The integration tests, as one binary (linking GStreamer, ONNX Runtime and rumqttc once):
//! each module proves one capability with the real parts — real encoded files, a real RTSP
//! server and MQTT broker on loopback, the real ONNX Runtime.

mod util;

mod allocations;
mod bad_input;
mod bench;
mod cli;
mod container;
mod contrib;
mod dataset;
mod decoder;
mod docs;
mod e2e_timeline;
mod embeddings;
mod evaluate;
mod events;
mod export_contract;
mod file_sink;
mod fuzz_corpus;
mod home_assistant;
mod hostile_files;
mod hostile_network;
mod journal;
mod layouts;
mod live;
mod live_labels;
mod metrics;
mod mqtt;
mod packaging;
mod parity;
mod reload;
mod service;
mod sink_faults;
mod two_stage;
