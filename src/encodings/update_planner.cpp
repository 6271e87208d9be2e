// placeholder until implemented (this session)
