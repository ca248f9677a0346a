"""The student-facing checks cannot be fooled and say what differed."""

import numpy as np
import pytest
import torch

from cvbook.grading.checks import CheckFailed, check_close, check_equal, check_tensor


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def test_check_equal_is_not_fooled_by_an_object_that_equals_everything():
    with pytest.raises(CheckFailed, match="expected 4"):
        check_equal(AlwaysEqual(), 4, "answer")
    with pytest.raises(CheckFailed):
        check_equal((AlwaysEqual(), 2), (1, 2), "shape")


@pytest.mark.parametrize("got, expected", [(4, 4), (np.int64(4), 4), ([1, 2], (1, 2)),
                                           (torch.Size([1, 2]), (1, 2)), ({"a": 1}, {"a": 1})])
def test_check_equal_accepts_equal_plain_values(got, expected):
    check_equal(got, expected, "value")


@pytest.mark.parametrize("got, expected", [(5, 4), (4.0, 4), (True, 1), ((1, 2, 3), (1, 2)), ("4", 4)])
def test_check_equal_rejects_different_values_or_types(got, expected):
    with pytest.raises(CheckFailed):
        check_equal(got, expected, "value")


def test_check_tensor_names_the_first_difference():
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[1, 2] = 0.5
    with pytest.raises(CheckFailed, match=r"index \(1, 2\)"):
        check_tensor(got, expected, "output")
    with pytest.raises(CheckFailed, match="shape"):
        check_tensor(torch.zeros(3, 2), expected, "output")
    with pytest.raises(CheckFailed, match="dtype"):
        check_tensor(expected.double(), expected, "output")
    check_tensor(expected + 1e-9, expected, "output")


def test_check_close_rejects_non_numbers_and_far_values():
    check_close(1.0 + 1e-9, 1.0, "x")
    with pytest.raises(CheckFailed):
        check_close("1.0", 2.0, "x")
    with pytest.raises(CheckFailed):
        check_close(1.1, 1.0, "x")
