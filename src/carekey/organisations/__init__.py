"""The municipality's register of the other parties: housing associations and partner companies
(issue 15), their first users, and the block of a company for the whole municipality."""
