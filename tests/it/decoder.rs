//! `source.decoder`: hardware first under `auto`, with libav as the fallback when the hardware
//! decoder cannot start; never hardware under `software`; only the named element otherwise.
//!
//! These machines have no hardware decoder, so the test registers one in this process: an
//! element of class `Codec/Decoder/Video/Hardware` for H.264, ranked below libav (so plain
//! decodebin would never try it), whose device cannot be opened (it refuses READY, as
//! `nvh264dec` does without a GPU). The real source pipeline then decodes a real H.264 file.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use actiond::config::{DecoderChoice, ResizeMode};
use actiond::source::{FrameFormat, SourceError, SourceOptions, VideoSource, location_of};
use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

use crate::util::*;

const BROKEN: &str = "brokenhwh264dec";

mod imp {
    use std::sync::LazyLock;

    use gstreamer as gst;
    use gstreamer::glib;
    use gstreamer::prelude::*;
    use gstreamer::subclass::prelude::*;

    #[derive(Default)]
    pub struct BrokenHardwareDecoder;

    #[glib::object_subclass]
    impl ObjectSubclass for BrokenHardwareDecoder {
        const NAME: &'static str = "ActiondTestBrokenHardwareDecoder";
        type Type = super::BrokenHardwareDecoder;
        type ParentType = gst::Element;
    }

    impl ObjectImpl for BrokenHardwareDecoder {
        fn constructed(&self) {
            self.parent_constructed();
            for template in Self::pad_templates() {
                self.obj().add_pad(&gst::Pad::from_template(template)).unwrap();
            }
        }
    }

    impl GstObjectImpl for BrokenHardwareDecoder {}

    impl ElementImpl for BrokenHardwareDecoder {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "Broken hardware H.264 decoder",
                    "Codec/Decoder/Video/Hardware",
                    "A hardware decoder whose device cannot be opened",
                    "actiond tests",
                )
            });
            Some(&METADATA)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
                let caps = |name: &str| gst::Caps::builder(name).build();
                vec![
                    gst::PadTemplate::new(
                        "sink",
                        gst::PadDirection::Sink,
                        gst::PadPresence::Always,
                        &caps("video/x-h264"),
                    )
                    .unwrap(),
                    gst::PadTemplate::new(
                        "src",
                        gst::PadDirection::Src,
                        gst::PadPresence::Always,
                        &caps("video/x-raw"),
                    )
                    .unwrap(),
                ]
            });
            &TEMPLATES
        }

        fn change_state(
            &self,
            transition: gst::StateChange,
        ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
            if transition == gst::StateChange::NullToReady {
                gst::element_imp_error!(self, gst::ResourceError::OpenRead, ["no device"]);
                return Err(gst::StateChangeError);
            }
            self.parent_change_state(transition)
        }
    }
}

glib::wrapper! {
    pub struct BrokenHardwareDecoder(ObjectSubclass<imp::BrokenHardwareDecoder>) @extends gst::Element, gst::Object;
}

fn register_broken_decoder() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::init().unwrap();
        gst::Element::register(None, BROKEN, gst::Rank::MARGINAL, BrokenHardwareDecoder::static_type())
            .unwrap();
    });
}

/// Decodes `video` with `choice`: the frames that came out and the decoders plugged.
fn decode(video: &Path, choice: DecoderChoice) -> (Result<u64, SourceError>, Vec<String>) {
    let mut options = SourceOptions::file(FrameFormat { width: 32, height: 32, resize: ResizeMode::Stretch });
    options.decoder = choice;
    let source = VideoSource::new(location_of(video.to_str().unwrap()), options).unwrap();
    let plugged = source.decoders();
    let result = source.run(&AtomicBool::new(false), |_| {}).map(|summary| summary.frames);
    let plugged = plugged.lock().unwrap().clone();
    (result, plugged)
}

#[test]
fn auto_tries_the_hardware_decoder_first_and_falls_back_to_libav_when_it_cannot_start() {
    register_broken_decoder();
    let dir = tempdir();
    let video = dir.path().join("h264.mkv");
    solid(&video, 12, "0xff00ff00");

    let (frames, plugged) = decode(&video, DecoderChoice::Auto);
    assert_eq!(frames.unwrap(), 12, "libav decoded every frame");
    assert_eq!(plugged, [BROKEN, "avdec_h264"], "hardware first, then the fallback");

    let (frames, plugged) = decode(&video, DecoderChoice::Software);
    assert_eq!(frames.unwrap(), 12);
    assert_eq!(plugged, ["avdec_h264"], "never a hardware decoder");

    let (frames, plugged) = decode(&video, DecoderChoice::Element("avdec_h264".into()));
    assert_eq!((frames.unwrap(), plugged), (12, vec!["avdec_h264".to_owned()]));
}

#[test]
fn a_named_decoder_that_fails_is_an_error_naming_it_and_nothing_else_is_tried() {
    register_broken_decoder();
    let dir = tempdir();
    let video = dir.path().join("h264.mkv");
    solid(&video, 12, "0xff00ff00");
    let (frames, plugged) = decode(&video, DecoderChoice::Element(BROKEN.into()));
    let error = frames.unwrap_err().to_string();
    assert!(error.contains(&format!("source.decoder = \"{BROKEN}\"")), "{error}");
    assert!(error.contains("h264.mkv"), "names the input: {error}");
    assert_eq!(plugged, [BROKEN], "no fallback from a named decoder");

    // Registered at rank marginal, so decodebin offers it: the check lets it through.
    assert_eq!(actiond::source::check_decoder(&DecoderChoice::Element(BROKEN.into())), Ok(()));
}

#[test]
fn a_decoder_gstreamer_lacks_is_refused_by_validate_before_anything_runs() {
    let dir = tempdir();
    let video = dir.path().join("h264.mkv");
    solid(&video, 12, "0xff00ff00");
    for (decoder, culprit) in
        [("nosuchdec", "no element `nosuchdec`"), ("videoscale", "`videoscale` is not a video decoder")]
    {
        let text = format!(
            "{}\n[source]\ndecoder = \"{decoder}\"\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
            mean_color_model_table(),
            video.display()
        );
        let p = write_pipeline(dir.path(), "p.toml", &text);
        for command in ["validate", "run"] {
            let out = actiond(&[command, p.to_str().unwrap()]);
            assert_clean_failure(&out, culprit);
            assert_eq!(out.status.code(), Some(3), "{command}: {}", stderr(&out));
        }
    }
    // The default (auto) on a machine without hardware decoders: libav, logged (at info, the
    // tests' level).
    let text =
        format!("{}\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n", mean_color_model_table(), video.display());
    let p = write_pipeline(dir.path(), "auto.toml", &text);
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("decoder=avdec_h264 hardware=false"), "{}", stderr(&out));
}
