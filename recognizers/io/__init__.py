"""Reading and writing files, with no Qt: audio (:mod:`~recognizers.io.audio`), video and images
(:mod:`~recognizers.io.video`), the one table of file types (:mod:`~recognizers.io.extensions`), and safe paths and
text for anything written or printed (:mod:`~recognizers.io.paths`, :mod:`~recognizers.io.safe_text`)."""

__all__ = ["audio", "extensions", "paths", "safe_text", "video"]
