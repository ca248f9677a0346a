"""Evaluation: top-k accuracy, classification report, confusion matrix, error analysis,
efficiency (params, multiply-adds, size, latency, memory), feature maps, plots."""

from cvbook.evaluate.analysis import mistake_gallery, mistakes, most_confused_pairs
from cvbook.evaluate.efficiency import (count_macs, count_parameters, cpu_latency_ms,
                                        efficiency_report, size_on_disk, training_memory_bytes)
from cvbook.evaluate.features import feature_maps, layer_names
from cvbook.evaluate.metrics import (classification_report, confusion_matrix,
                                     format_classification_report, topk_accuracy)
from cvbook.evaluate.plots import (plot_confusion_matrix, plot_feature_maps, plot_history,
                                   save_figure)

__all__ = ["classification_report", "confusion_matrix", "count_macs", "count_parameters",
           "cpu_latency_ms", "efficiency_report", "feature_maps", "format_classification_report",
           "layer_names", "mistake_gallery", "mistakes", "most_confused_pairs",
           "plot_confusion_matrix", "plot_feature_maps", "plot_history", "save_figure",
           "size_on_disk", "topk_accuracy", "training_memory_bytes"]
