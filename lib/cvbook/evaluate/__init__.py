"""Evaluation: accuracy, top-k accuracy, classification report, confusion matrix, error
analysis, calibration, Pareto fronts, efficiency (params, multiply-adds, size, latency,
memory), feature maps, plots, Markdown tables."""

from cvbook.evaluate.calibration import expected_calibration_error, reliability_table
from cvbook.evaluate.compare import pareto_front
from cvbook.evaluate.analysis import mistake_gallery, mistakes, most_confused_pairs
from cvbook.evaluate.efficiency import (back_to_back_ms, count_macs, count_parameters, cpu_latency_ms,
                                        efficiency_report, latency_samples_ms, median_latency_ms,
                                        saved_bytes, size_on_disk, training_memory_bytes)
from cvbook.evaluate.features import feature_maps, layer_names
from cvbook.evaluate.metrics import (accuracy, classification_report, confusion_matrix,
                                     format_classification_report, topk_accuracy)
from cvbook.evaluate.predict import predict
from cvbook.evaluate.plots import (plot_confusion_matrix, plot_feature_maps, plot_history,
                                   save_figure)
from cvbook.evaluate.tables import compression_table, markdown_table, set_speedups

__all__ = ["accuracy", "back_to_back_ms", "classification_report", "compression_table", "confusion_matrix",
           "count_macs", "count_parameters", "cpu_latency_ms", "efficiency_report",
           "expected_calibration_error", "feature_maps",
           "format_classification_report", "latency_samples_ms", "layer_names", "markdown_table",
           "median_latency_ms", "mistake_gallery", "mistakes", "most_confused_pairs", "pareto_front", "predict",
           "reliability_table", "saved_bytes", "set_speedups",
           "plot_confusion_matrix", "plot_feature_maps", "plot_history", "save_figure",
           "size_on_disk", "topk_accuracy", "training_memory_bytes"]
