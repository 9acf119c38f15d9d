"""Figures the generator is calibrated on (``../shared/notes/sme-facts.md``, section named at
each constant) and the fixed shapes of its tables."""

from __future__ import annotations

import numpy as np

DAY = np.timedelta64(1, "D")

# Sector default multipliers (sme-facts §1), renormalised so the portfolio mean is the base rate.
SECTOR_PD_MULT = {
    "agriculture": 0.35,
    "manufacturing": 1.0,
    "construction": 1.5,
    "wholesale": 1.0,
    "retail": 1.0,
    "transport": 2.0,
    "accommodation_food": 1.4,
    "information_technology": 0.8,
    "professional_services": 0.8,
    "real_estate": 1.0,
    "health_social": 0.7,
    "energy_utilities": 0.3,
}
SECTOR_SHARE = {
    "agriculture": 0.04,
    "manufacturing": 0.14,
    "construction": 0.13,
    "wholesale": 0.12,
    "retail": 0.12,
    "transport": 0.07,
    "accommodation_food": 0.08,
    "information_technology": 0.08,
    "professional_services": 0.11,
    "real_estate": 0.05,
    "health_social": 0.04,
    "energy_utilities": 0.02,
}
# Days sales outstanding and inventory days by sector (sme-facts §3: hotels 6, IT 78 DSO).
SECTOR_DSO = {
    "agriculture": 40,
    "manufacturing": 55,
    "construction": 65,
    "wholesale": 50,
    "retail": 15,
    "transport": 50,
    "accommodation_food": 6,
    "information_technology": 78,
    "professional_services": 60,
    "real_estate": 30,
    "health_social": 45,
    "energy_utilities": 45,
}
SECTOR_INVENTORY_DAYS = {
    "agriculture": 90,
    "manufacturing": 70,
    "construction": 40,
    "wholesale": 55,
    "retail": 60,
    "transport": 8,
    "accommodation_food": 10,
    "information_technology": 5,
    "professional_services": 3,
    "real_estate": 20,
    "health_social": 10,
    "energy_utilities": 15,
}
# Age and size multipliers (sme-facts §2); bounds in years and employees.
AGE_BOUNDS = np.array([1.0, 3.0, 5.0, 10.0])
AGE_PD_MULT = np.array([1.5, 2.0, 1.4, 1.0, 0.6])
SIZE_BOUNDS = np.array([5, 50, 250])
SIZE_PD_MULT = np.array([1.5, 1.0, 0.6, 0.5])
# Annual base incidence of compliance events at average risk (sme-facts §6).
EVENT_BASE_RATE = {
    "litigation": 0.06,
    "tax_arrears": 0.04,
    "penalty": 0.05,
    "sanctions_hit": 0.0005,
    "insolvency_filing": 0.002,
}
# How blurred each source's view of the latent risk is (sd of a firm-level noise). Chosen so that
# a good model lands in sme-facts §7's band (0.80-0.86 combined), below the true-PD ceiling.
VIEW_NOISE = {"financial": 0.5, "payment": 0.5, "bureau": 0.6}
INVOICE_TERMS = np.array([30, 45, 60, 90])
INVOICE_TERMS_P = np.array([0.4, 0.3, 0.2, 0.1])
REQUEST_TERMS = np.array([30, 45, 60, 90])
