//! `source.decoder`: which video decoder `uridecodebin` plugs for a stream.
//!
//! decodebin offers, for each stream it meets, the factories that can take it, best rank first
//! (`autoplug-sort`). Only the video decoders among them are reordered or left out here;
//! demuxers, parsers and depayloaders keep their places. `auto` puts hardware decoders first
//! (their element class says `Hardware`, as VA-API's, NVIDIA's and V4L2's do), so a machine
//! that has one uses it whatever its rank (of those decodebin considers: marginal and above);
//! when it fails to start, decodebin goes on to the next factory, which is libav. One that
//! starts but then refuses the stream (a profile it lacks) fails the input: `software` is
//! the way out. `software` leaves hardware decoders out, and a named element
//! is the only video decoder offered. Which decoder was plugged is logged per input.

use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

use crate::config::DecoderChoice;

/// What the choice needs to know of a factory: its name and element class
/// (e.g. `Codec/Decoder/Video/Hardware`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactoryFacts<'a> {
    pub name: &'a str,
    pub klass: &'a str,
}

impl FactoryFacts<'_> {
    pub fn is_video_decoder(&self) -> bool {
        self.klass.contains("Decoder") && self.klass.contains("Video")
    }

    pub fn is_hardware(&self) -> bool {
        self.klass.contains("Hardware")
    }
}

/// The factories decodebin may try, in the order it should try them: indices into `offered`
/// (which comes best rank first). Factories that are not video decoders always stay, in place.
pub fn order(choice: &DecoderChoice, offered: &[FactoryFacts]) -> Vec<usize> {
    let keep = |f: &FactoryFacts| match choice {
        _ if !f.is_video_decoder() => true,
        DecoderChoice::Auto => true,
        DecoderChoice::Software => !f.is_hardware(),
        DecoderChoice::Element(name) => f.name == name,
    };
    let mut kept: Vec<usize> = (0..offered.len()).filter(|&i| keep(&offered[i])).collect();
    if *choice == DecoderChoice::Auto {
        // Only the decoders' places are shuffled: a parser offered before them stays before
        // them (decodebin plugs it first and offers the decoders again behind it).
        let slots: Vec<usize> = (0..kept.len()).filter(|&k| offered[kept[k]].is_video_decoder()).collect();
        let mut decoders: Vec<usize> = slots.iter().map(|&k| kept[k]).collect();
        decoders.sort_by_key(|&i| !offered[i].is_hardware()); // stable: rank order otherwise
        for (k, i) in slots.into_iter().zip(decoders) {
            kept[k] = i;
        }
    }
    kept
}

/// Refuses a named decoder this GStreamer does not have, or an element that is no video
/// decoder, naming it and the hardware video decoders it does have.
pub fn check_available(choice: &DecoderChoice) -> Result<(), String> {
    let DecoderChoice::Element(name) = choice else { return Ok(()) };
    let hardware = || {
        let names: Vec<String> =
            video_decoders().iter().filter(|f| kind(f).1).map(|f| f.name().to_string()).collect();
        match names.is_empty() {
            true => "none".to_owned(),
            false => names.join(", "),
        }
    };
    match gst::ElementFactory::find(name) {
        None => Err(format!(
            "`source.decoder`: GStreamer has no element `{name}` (hardware video decoders here: {}; \"software\" \
             decodes with libav, e.g. avdec_h264)",
            hardware()
        )),
        Some(f) if !kind(&f).0 => Err(format!(
            "`source.decoder`: `{name}` is not a video decoder (its class is {}; hardware video decoders here: {})",
            f.klass(),
            hardware()
        )),
        // decodebin only considers factories of rank marginal or above.
        Some(f) if f.rank() < gst::Rank::MARGINAL => Err(format!(
            "`source.decoder`: `{name}` has rank none, so decodebin never plugs it; give it a rank \
             with the environment variable GST_PLUGIN_FEATURE_RANK={name}:primary"
        )),
        Some(_) => Ok(()),
    }
}

fn video_decoders() -> glib::List<gst::ElementFactory> {
    gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER | gst::ElementFactoryType::MEDIA_VIDEO,
        gst::Rank::NONE,
    )
}

/// The facts of `factory`, whose name is `name` (a `GString` the caller keeps).
fn facts<'a>(factory: &'a gst::ElementFactory, name: &'a glib::GString) -> FactoryFacts<'a> {
    FactoryFacts { name: name.as_str(), klass: factory.klass() }
}

/// Whether `factory` makes video decoders, and hardware ones.
fn kind(factory: &gst::ElementFactory) -> (bool, bool) {
    let name = factory.name();
    let f = facts(factory, &name);
    (f.is_video_decoder(), f.is_hardware())
}

/// The video decoders plugged into one pipeline, in order: a hardware decoder that fails to
/// start is followed by the one decodebin falls back to.
pub type PluggedDecoders = Arc<Mutex<Vec<String>>>;

/// Applies `choice` to `decode` (a `uridecodebin` in `pipeline`), and logs and records every
/// video decoder plugged.
pub(super) fn attach(
    decode: &gst::Element,
    pipeline: &gst::Pipeline,
    choice: &DecoderChoice,
    input: &str,
) -> PluggedDecoders {
    let choice = choice.clone();
    decode.connect("autoplug-sort", false, move |args| {
        // The signal needs a value back: an empty one keeps decodebin's own order.
        let Ok(offered) = args[3].get::<glib::ValueArray>() else {
            return Some(None::<glib::ValueArray>.to_value());
        };
        let factories: Vec<gst::ElementFactory> =
            offered.iter().filter_map(|v| v.get::<gst::ElementFactory>().ok()).collect();
        let names: Vec<glib::GString> = factories.iter().map(|f| f.name()).collect();
        let listed: Vec<FactoryFacts> = factories.iter().zip(&names).map(|(f, n)| facts(f, n)).collect();
        let ordered = order(&choice, &listed);
        let sorted = glib::ValueArray::new(ordered.iter().map(|&i| factories[i].to_value()));
        Some(sorted.to_value())
    });
    let plugged = PluggedDecoders::default();
    let record = plugged.clone();
    let input = input.to_owned();
    pipeline.connect_deep_element_added(move |_, _, element| {
        if let Some(factory) = element.factory()
            && let (true, hardware) = kind(&factory)
        {
            tracing::info!(input = %input, decoder = %factory.name(), hardware, "Plugged video decoder {}.", factory.name());
            record.lock().unwrap_or_else(|e| e.into_inner()).push(factory.name().to_string());
        }
    });
    plugged
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBAV: FactoryFacts = FactoryFacts { name: "avdec_h264", klass: "Codec/Decoder/Video" };
    const VAAPI: FactoryFacts = FactoryFacts { name: "vah264dec", klass: "Codec/Decoder/Video/Hardware" };
    const NVDEC: FactoryFacts = FactoryFacts { name: "nvh264dec", klass: "Codec/Decoder/Video/Hardware" };
    const PARSER: FactoryFacts = FactoryFacts { name: "h264parse", klass: "Codec/Parser/Converter/Video" };
    const DEMUX: FactoryFacts = FactoryFacts { name: "qtdemux", klass: "Codec/Demuxer" };

    #[test]
    fn auto_tries_hardware_decoders_first_and_keeps_libav_as_the_fallback() {
        // decodebin offers rank order; libav outranks both hardware decoders here.
        let offered = [LIBAV, VAAPI, PARSER, NVDEC];
        assert_eq!(order(&DecoderChoice::Auto, &offered), [1, 3, 2, 0]);
        // A parser ahead of the decoders stays ahead (regression: the hardware decoder was put
        // before h264parse, tried on unparsed input, and tried again behind the parser).
        assert_eq!(order(&DecoderChoice::Auto, &[PARSER, LIBAV, VAAPI]), [0, 2, 1]);
        assert_eq!(order(&DecoderChoice::Auto, &[LIBAV, PARSER]), [0, 1], "nothing to reorder");
    }

    #[test]
    fn software_never_offers_a_hardware_decoder() {
        assert_eq!(order(&DecoderChoice::Software, &[VAAPI, LIBAV, NVDEC]), [1]);
        assert_eq!(order(&DecoderChoice::Software, &[DEMUX]), [0], "not a decoder: kept");
    }

    #[test]
    fn a_named_element_is_the_only_video_decoder_offered() {
        let named = DecoderChoice::Element("nvh264dec".into());
        assert_eq!(order(&named, &[LIBAV, PARSER, VAAPI, NVDEC]), [1, 3]);
        // Cannot decode this stream: no decoder is left, and decodebin says what it lacks.
        assert_eq!(order(&named, &[LIBAV, VAAPI]), Vec::<usize>::new());
    }

    #[test]
    fn a_named_decoder_gstreamer_lacks_is_refused_by_name() {
        gst::init().unwrap();
        let missing = check_available(&DecoderChoice::Element("nosuchdec".into())).unwrap_err();
        assert!(
            missing.contains("no element `nosuchdec`") && missing.contains("hardware video decoders here"),
            "{missing}"
        );
        let not_a_decoder = check_available(&DecoderChoice::Element("videoscale".into())).unwrap_err();
        assert!(not_a_decoder.contains("not a video decoder"), "{not_a_decoder}");
        assert_eq!(check_available(&DecoderChoice::Element("avdec_h264".into())), Ok(()));
        assert_eq!(check_available(&DecoderChoice::Software), Ok(()));
    }
}
