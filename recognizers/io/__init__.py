"""Reading and writing files, with no Qt: audio (:mod:`~recognizers.io.audio`), video and images
(:mod:`~recognizers.io.video`), the one table of file types (:mod:`~recognizers.io.extensions`), and safe paths and
text for anything written or printed (:mod:`~recognizers.io.paths`, :mod:`~recognizers.io.safe_text`), and
silencing native libraries' own messages around a decode (:mod:`~recognizers.io.quiet`)."""

__all__ = ["audio", "extensions", "paths", "quiet", "safe_text", "video"]
