import pandas as pd
import pytest

from models.split import SplitConfig, assign_split


def test_split_is_out_of_time_stratified_and_seeded(dev_frame):
    split = dev_frame["split"]
    labelled = dev_frame["default_12m"].notna()
    latest = dev_frame.loc[labelled, "application_date"].max()
    # Declined at the time within the labelled history: set aside, never observed.
    history = ~labelled & (dev_frame["application_date"] <= latest)
    declined = dev_frame["past_decision"] == "decline"
    assert split[history & declined].isin(["rejected", "rejected_oot"]).all()
    assert (split[~labelled & ~(history & declined)] == "score").all()
    assert (split[labelled] != "score").all()
    oot_rejects = dev_frame.loc[split == "rejected_oot", "application_date"]
    assert oot_rejects.min() > dev_frame.loc[split == "rejected", "application_date"].max()
    oot_dates = dev_frame.loc[split == "oot", "application_date"]
    dev_dates = dev_frame.loc[split.isin(["train", "valid"]), "application_date"]
    assert oot_dates.min() > dev_dates.max()
    assert oot_dates.min() > latest - pd.DateOffset(months=12)
    rate = dev_frame.groupby("split")["default_12m"].mean()
    assert abs(rate["train"] - rate["valid"]) < 0.005
    again = assign_split(dev_frame, SplitConfig(oot_months=12, valid_share=0.3), seed=1)
    assert again.equals(split)
    other = assign_split(dev_frame, SplitConfig(oot_months=12, valid_share=0.3), seed=2)
    assert not other.equals(split)


def test_config_validation():
    with pytest.raises(ValueError, match="valid_share"):
        SplitConfig(valid_share=1.5)
