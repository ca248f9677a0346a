"""Self-check for "Backbones, heads and transfer learning". Head sizes and learning rates
come from cvbook.transfer."""

from torch import nn

from cvbook.evaluate.efficiency import count_parameters
from cvbook.quiz import choice, numeric
from cvbook.transfer import discriminative_param_groups, make_head


def questions():
    linear_head = count_parameters(make_head(512, 37))
    mlp_head = count_parameters(make_head(512, 10, hidden=256))
    blocks = nn.Sequential(*(nn.Linear(2, 2) for _ in range(4)))   # three blocks and the last one
    early_lr = discriminative_param_groups(blocks, lr=1e-3, decay=0.6)[0]["lr"]
    return [
        choice("backbone-head", "easy",
               "What does a classifier's head hold, compared with its backbone?",
               [("Most of the parameters and the knowledge of what images look like", False,
                 "That is the backbone."),
                ("A small layer that turns the feature vector into one score per class of this task", True,
                 "The head only knows about this task's classes, which is why transfer learning replaces it."),
                ("The data augmentation", False, "Augmentation is part of the data pipeline, not of the model."),
                ("The BatchNorm statistics", False, "Those live in the backbone's normalisation layers.")],
               hint="Which part must change when the classes change?",
               mistakes=["Keeping the old head when the new task has a different number of classes."]),
        choice("freeze", "easy",
               "How do you freeze a backbone in PyTorch?",
               [("Set `requires_grad = False` on its parameters and give the optimiser only the others", True,
                 "A frozen parameter gets no gradient; the chapter also keeps its BatchNorm layers in eval mode."),
                ("Call `model.eval()`", False, "`eval()` changes how dropout and BatchNorm behave; gradients still flow."),
                ("Wrap the forward pass in `torch.no_grad()`", False,
                 "That would stop the head's gradients too, so nothing would learn."),
                ("Set the learning rate of the whole model to 0", False,
                 "The weights would stay put, but every backward pass would still compute the backbone's "
                 "gradients for nothing, and eval-mode BatchNorm would still be missing.")],
               hint="Freezing is a property of parameters.",
               mistakes=["Confusing eval mode with freezing.", "Freezing the head along with the backbone."]),
        numeric("linear-head", "medium",
                "A GAP + linear head maps 512 features to the 37 classes of Oxford Pets. How many parameters has it?",
                linear_head,
                "C x K + K = 512 x 37 + 37, whatever the image size.",
                hint="One weight per feature and class, plus one bias per class.",
                mistakes=["Forgetting the biases.", "Multiplying by the feature map's positions (the average removes them)."],
                wrong={512 * 37: "That leaves out the 37 biases."}),
        numeric("mlp-head", "medium",
                "An MLP head maps 512 features through 256 hidden units to 10 classes (`make_head(512, 10, "
                "hidden=256)`). How many parameters has it?",
                mlp_head,
                "512 x 256 + 256 for the hidden layer, then 256 x 10 + 10 for the classifier.",
                hint="Two Linear layers, each with weights and biases.",
                mistakes=["Counting only the last layer.", "Forgetting one set of biases."],
                wrong={512 * 256 + 256 * 10: "That leaves out both sets of biases.",
                       256 * 10 + 10: "That is only the last layer."}),
        choice("frozen-bn", "medium",
               "Why must a frozen backbone's BatchNorm layers also stay in eval mode while the head trains "
               "on twenty images per class?",
               [("Otherwise their running statistics are overwritten by the few new images", True,
                 "`requires_grad = False` stops gradients, not the update of running statistics in training mode."),
                ("Otherwise they raise an error", False, "They run silently, which is the danger."),
                ("Eval mode makes them faster", False, "Speed is not the point; the statistics are."),
                ("It does not matter for BatchNorm", False, "It matters precisely for BatchNorm; LayerNorm has "
                 "no running statistics.")],
               hint="What does BatchNorm update in training mode besides its weights?",
               mistakes=["Freezing parameters but calling `model.train()` on the whole model."]),
        choice("head-lr", "easy",
               "Why does the new head get a larger learning rate (10^-2) than the pretrained backbone (10^-3)?",
               [("It starts from random weights; the backbone's weights are already good", True,
                 "Large steps help the head; for the backbone they would destroy what pretraining learned."),
                ("Linear layers need larger learning rates than convolutions", False,
                 "The reason is where the weights start, not the layer type."),
                ("The head has more parameters", False, "It is a small fraction of the model."),
                ("To compensate for the frozen BatchNorm", False, "The two are unrelated.")],
               hint="Compare where the head's and the backbone's weights start.",
               mistakes=["Fine-tuning everything at the head's rate, which erases the pretrained features."]),
        numeric("discriminative-lr", "hard",
                "With discriminative learning rates, the last block learns at 10^-3 and each block before it "
                "at 0.6 times the rate of the block after it. What is the learning rate of the block three "
                "places before the last?",
                early_lr,
                "10^-3 x 0.6^3, as `discriminative_param_groups` computes: early layers, which hold generic "
                "features, move least.",
                tolerance=1e-7,
                hint="Multiply by 0.6 once per step towards the input.",
                mistakes=["Multiplying by 0.6 too few or too many times.", "Giving early layers the larger rate."],
                wrong={1e-3 * 0.6 ** 2: "That is two blocks before the last; this block is three before it.",
                       1e-3 * 0.6 ** 4: "That is one step too many."}),
        choice("why-discriminative", "hard",
               "Why should early layers move least when fine-tuning on few labels?",
               [("They detect edges and textures that any image task needs; fast changes would erase them", True,
                 "That forgetting of good features is what slowing the early layers prevents."),
                ("They have the most parameters", False, "In most CNNs the late layers have more."),
                ("Their gradients are always zero", False, "They receive gradients like every other layer."),
                ("Because BatchNorm is only in the early layers", False, "BatchNorm is in every block.")],
               hint="What does a backbone learn early and what late?",
               mistakes=["Concluding from one small experiment that one strategy always wins."]),
        choice("imagenet-small", "hard",
               "You load torchvision's ImageNet ResNet-18 weights into cvbook's `variant='small'` ResNet-18. What happens?",
               [("It works: the layer names are the same", False, "The names match but the stem's shapes do not."),
                ("`load_state_dict` reports a size mismatch", True,
                 "The small variant has a 3x3 stem instead of 7x7, so it is a different network; use "
                 "`variant='imagenet'`."),
                ("The weights load and are resized automatically", False, "PyTorch never resizes weights."),
                ("Only the head is loaded", False, "Nothing is loaded silently; the mismatch is an error.")],
               hint="Compare the stems of the two variants.",
               mistakes=["Passing `strict=False` and believing the model is pretrained."]),
    ]
